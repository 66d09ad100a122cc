"""How far a generated corpus lies from each eval set, per kind and per dilemma family.

A researcher wants to see that the mix is far from the evals, not take it on
trust: for each document, its distance to an eval set is 1 minus the cosine
of its MiniLM vector with the nearest item of that set. The figures are the
median and the smallest distance per document kind and per story family, and
the pair that came nearest. Document vectors are keyed by document id in the
build's embedding cache, the same rows dedup reads and writes, so a build
embeds each document once.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache

__all__ = ["FILE", "eval_distances"]

#: Where the generate stage keeps a kind's figures, in its run folder.
FILE = "eval-distance.json"


def _summary(distances: list[float], nearest: tuple[float, str, str]) -> dict[str, Any]:
    return {
        "documents": len(distances),
        "median_distance": round(statistics.median(distances), 3),
        "min_distance": round(min(distances), 3),
        "nearest_document": nearest[1],
        "nearest_eval": nearest[2],
    }


def eval_distances(
    documents: Iterable[Document],
    evals: Sequence[tuple[str, str, str]],
    cache: EmbeddingCache,
) -> dict[str, Any]:
    """Distances of `documents` to each eval set of `evals` ((set, label, text) per item):
    `by_kind[kind][set]` and `by_family[family][set]` (stories' dilemma families)."""
    docs = list(documents)
    sets = list(dict.fromkeys(name for name, _, _ in evals))
    figures: dict[str, Any] = {"evals": sets, "by_kind": {}, "by_family": {}}
    if not docs or not evals:
        return figures
    vectors = cache.get_or_embed([d.id for d in docs], [d.text for d in docs])
    items = cache.get_or_embed(None, [text for _, _, text in evals])
    groups: dict[tuple[str, str], list[int]] = {}
    for index, doc in enumerate(docs):
        groups.setdefault(("by_kind", doc.kind), []).append(index)
        family = doc.provenance.seed.get("dilemma_family")
        if isinstance(family, str):
            groups.setdefault(("by_family", family), []).append(index)
    for name in sets:
        columns = [i for i, (set_name, _, _) in enumerate(evals) if set_name == name]
        sims = vectors @ items[columns].T
        best = sims.argmax(axis=1)
        distance = 1.0 - sims[np.arange(len(docs)), best]
        for (table, group), members in sorted(groups.items()):
            values = [float(distance[i]) for i in members]
            closest = min(members, key=lambda i: (float(distance[i]), docs[i].id))
            nearest = (float(distance[closest]), docs[closest].id, evals[columns[best[closest]]][1])
            figures[table].setdefault(group, {})[name] = _summary(values, nearest)
    return figures
