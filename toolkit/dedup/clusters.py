"""Duplicate edges into clusters, and which member of a cluster to keep.

A stage only reports edges (pairs it judged duplicates, with a similarity);
clusters are the connected components of those edges, so A~B and B~C make
one cluster {A, B, C} with one survivor even when A and C are not close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.document import Document

__all__ = [
    "Candidate",
    "Drop",
    "Edges",
    "UnionFind",
    "choose_keeper",
    "components",
    "keep_among",
    "quality_score",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Drop:
    """One dropped document (corpus positions), what it duplicated and why that one stayed."""

    position: int
    kept: int
    stage: str
    reason: str
    score: float
    kept_because: str
    linked_to: int
    link_score: float


@dataclass(frozen=True, slots=True)
class Edges:
    """Duplicate pairs `(a[k], b[k])` with similarity `score[k]`, indexes into a stage's input."""

    a: IntArray
    b: IntArray
    score: FloatArray

    @classmethod
    def empty(cls) -> Edges:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return int(self.a.shape[0])


class UnionFind:
    """Disjoint sets over `0..n-1` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, x: int, y: int) -> bool:
        """Join the sets of x and y; False when they were already one."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        if self.size[rx] < self.size[ry]:
            rx, ry = ry, rx
        self.parent[ry] = rx
        self.size[rx] += self.size[ry]
        return True


def components(n: int, edges: Edges) -> list[list[int]]:
    """Connected components with two or more members, each sorted, in order of first member.

    Nodes are whatever the edges name (below `n`, or any positions at all):
    only nodes on an edge can share a cluster, so memory follows the edges,
    not the corpus.
    """
    nodes = np.unique(np.concatenate([edges.a, edges.b]))
    if nodes.shape[0] and not (int(nodes[0]) >= 0 and int(nodes[-1]) < n):
        raise ValueError(f"components: edges name nodes outside 0..{n - 1}")
    uf = UnionFind(int(nodes.shape[0]))
    a = np.searchsorted(nodes, edges.a).tolist()
    b = np.searchsorted(nodes, edges.b).tolist()
    for x, y in zip(a, b, strict=True):
        uf.union(x, y)
    groups: dict[int, list[int]] = {}
    for index, node in enumerate(nodes.tolist()):
        groups.setdefault(uf.find(index), []).append(node)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def _accepted(doc: Document) -> bool:
    review = doc.metadata.get("review")
    return isinstance(review, dict) and review.get("status") == "accepted"


def quality_score(doc: Document) -> float | None:
    """`metadata["quality"]["score"]` when it is a finite number, else None."""
    quality = doc.metadata.get("quality")
    score: Any = quality.get("score") if isinstance(quality, dict) else None
    if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
        return float(score)
    return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the keep policy reads of a document, so it can run without the text."""

    id: str
    length: int
    score: float | None
    accepted: bool

    @classmethod
    def of(cls, doc: Document) -> Candidate:
        return cls(doc.id, len(doc.text), quality_score(doc), _accepted(doc))


def choose_keeper(docs: Sequence[Document]) -> tuple[int, str]:
    """Index of the document to keep in a cluster, and why, in words (see `keep_among`)."""
    return keep_among([Candidate.of(doc) for doc in docs])


def keep_among(docs: Sequence[Candidate]) -> tuple[int, str]:
    """Index of the candidate to keep in a cluster, and why, in words.

    Criteria narrow the candidates in turn: an accepted review, then the
    highest quality score (used only when every remaining candidate has one,
    since a missing score says nothing), then the longest text, then the
    smallest id, then the first in corpus order. The explanation names each
    criterion that narrowed the field.
    """
    candidates = list(range(len(docs)))
    because: list[str] = []

    def narrow(keep: list[int], why: str) -> None:
        nonlocal candidates
        if keep and len(keep) < len(candidates):
            candidates = keep
            because.append(why)

    narrow([i for i in candidates if docs[i].accepted], "accepted review")
    scores = [docs[i].score for i in candidates]
    if len(candidates) > 1 and all(s is not None for s in scores):
        best = max(s for s in scores if s is not None)
        narrow(
            [i for i, s in zip(candidates, scores, strict=True) if s == best],
            f"highest quality score ({best:g})",
        )
    longest = max(docs[i].length for i in candidates)
    narrow(
        [i for i in candidates if docs[i].length == longest],
        f"longest text ({longest} characters)",
    )
    smallest = min(docs[i].id for i in candidates)
    narrow([i for i in candidates if docs[i].id == smallest], "smallest id")
    if len(candidates) > 1:
        because.append("first in corpus order")
    return candidates[0], "; ".join(because) or "only candidate"
