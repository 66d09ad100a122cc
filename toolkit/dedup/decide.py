"""One stage's duplicate edges into clusters, keepers and drops, as arrays.

Both ways of running dedup (a corpus held in memory, or streamed through a
work folder) end every stage here, so they keep the same documents for the
same reasons. Edges name corpus positions; what the keep policy needs of a
document comes from a `Lookup`, and the similarity of a kept document to
each one it replaced from the stage's own scoring. Per duplicate the result
holds a few numbers (about 45 bytes), never a document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from toolkit.dedup.clusters import Candidate, Edges, FloatArray, IntArray, components, keep_among

__all__ = ["Lookup", "StageDecisions", "best_links", "decide_stage"]

F64 = npt.NDArray[np.float64]
_ARRAYS: tuple[str, ...] = ("kept", "offsets", "members", "because", "position", "keeper")
_ARRAYS += ("score", "linked_to", "link_score", "cluster")
_KEEP_BLOCK = 1 << 16  # cluster members whose keep-policy fields are looked up at once


class Lookup(Protocol):
    """What dedup reads of documents by corpus position, after the first pass."""

    def ids(self, positions: IntArray) -> list[str]: ...

    def snippets(self, positions: IntArray) -> list[str]: ...

    def candidates(self, positions: IntArray) -> list[Candidate]: ...


@dataclass
class StageDecisions:
    """A stage's clusters (in order of first member) and drops (by cluster, then member)."""

    stage: str
    reason: str
    kept: IntArray  # per cluster: the position kept
    offsets: IntArray  # cluster k's members: members[offsets[k] : offsets[k + 1]]
    members: IntArray
    because: npt.NDArray[np.int32]  # per cluster: index into `reasons`
    reasons: list[str]
    position: IntArray  # per drop
    keeper: IntArray
    score: F64
    linked_to: IntArray
    link_score: F64
    cluster: IntArray
    figures: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.position.shape[0])

    @property
    def n_clusters(self) -> int:
        return int(self.kept.shape[0])

    def kept_because(self, cluster: int) -> str:
        return self.reasons[int(self.because[cluster])]

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Every array, by field name (for saving)."""
        return {name: getattr(self, name) for name in _ARRAYS}


def best_links(edges: Edges) -> tuple[IntArray, IntArray, FloatArray]:
    """Each node of the edges, its most similar neighbour and that similarity, by node.

    Among equally similar neighbours the one earliest in the corpus wins, as
    it does when edges are scanned in `(a, b)` order.
    """
    node = np.concatenate([edges.a, edges.b])
    other = np.concatenate([edges.b, edges.a])
    score = np.concatenate([edges.score, edges.score])
    order = np.lexsort((other, -score.astype(np.float64), node))
    node, other, score = node[order], other[order], score[order]
    first = np.ones(node.shape[0], dtype=np.bool_)
    first[1:] = node[1:] != node[:-1]
    return node[first], other[first], score[first]


def _rounded(values: Sequence[float]) -> F64:
    """`round(v, 4)` each, as Python rounds (numpy's round differs in the last digit)."""
    return np.asarray([round(v, 4) for v in values], dtype=np.float64)


def decide_stage(
    stage: str,
    reason: str,
    edges: Edges,
    lookup: Lookup,
    scores: Callable[[IntArray, IntArray], FloatArray],
) -> StageDecisions:
    """Clusters of `edges` (corpus positions), one kept per cluster by `keep_among`.

    `scores(kept, dropped)` gives the stage's similarity of each pair; it is
    asked once, for every drop, since a drop may be linked to its keeper
    only through other members.
    """
    clusters = components(int(max(edges.a.max(initial=0), edges.b.max(initial=0))) + 1, edges)
    sizes = np.asarray([len(c) for c in clusters], dtype=np.int64)
    offsets = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    members = (
        np.concatenate([np.asarray(c, np.int64) for c in clusters])
        if clusters
        else np.zeros(0, np.int64)
    )
    del clusters
    kept = np.empty(sizes.shape[0], dtype=np.int64)
    because = np.empty(sizes.shape[0], dtype=np.int32)
    reasons: dict[str, int] = {}
    start = 0
    while start < sizes.shape[0]:  # keep-policy fields for a block of clusters at a time
        stop = max(
            start + 1,
            int(np.searchsorted(offsets, offsets[start] + _KEEP_BLOCK, side="right")) - 1,
        )
        block = members[offsets[start] : offsets[stop]]
        unique = np.unique(block)
        found = lookup.candidates(unique)
        for k in range(start, stop):
            group = members[offsets[k] : offsets[k + 1]]
            where = np.searchsorted(unique, group).tolist()
            pick, why = keep_among([found[i] for i in where])
            kept[k] = group[pick]
            because[k] = reasons.setdefault(why, len(reasons))
        start = stop
    cluster = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
    dropped = members != kept[cluster]
    position, cluster = members[dropped], cluster[dropped]
    keeper = kept[cluster]
    pair_scores = scores(keeper, position) if position.shape[0] else np.zeros(0, np.float32)
    nodes, other, link = best_links(edges)
    where = np.searchsorted(nodes, position)
    return StageDecisions(
        stage=stage,
        reason=reason,
        kept=kept,
        offsets=offsets,
        members=members,
        because=because,
        reasons=list(reasons),
        position=position,
        keeper=keeper,
        score=_rounded(pair_scores.tolist()),
        linked_to=other[where],
        link_score=_rounded(link[where].tolist()),
        cluster=cluster,
    )
