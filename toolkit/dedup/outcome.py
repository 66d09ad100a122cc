"""Every stage's decisions together: what each document becomes, and the report rows.

A drop is followed through later stages to its survivor (A dropped for B at
the exact stage, B for C at the near stage: A's survivor is C). Answers are
given a range of corpus positions at a time, looking up ids and snippets
through a `Lookup` only for the documents that range needs, so the writer can
stream the corpus and the report past them in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from toolkit.dedup.clusters import IntArray
from toolkit.dedup.decide import F64, Lookup, StageDecisions
from toolkit.document import Document
from toolkit.metadata import DedupKeptOver, DedupMetadata
from toolkit.stages import Decision

__all__ = ["Outcome", "Verdict", "apply_verdicts"]

_ROWS = 1 << 14  # report rows looked up at once

#: What happens to one document: (reason, details) when dropped, else its
#: `metadata["dedup"]` when it won a cluster (None when it won none).
Verdict = tuple[str, dict[str, Any]] | DedupMetadata | None


def _cat(parts: Sequence[IntArray | F64], dtype: Any) -> Any:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


class Outcome:
    """The drops and clusters of every stage, in run order, over `documents` positions."""

    def __init__(self, documents: int, stages: Sequence[StageDecisions]) -> None:
        self.documents = documents
        self.stages = list(stages)
        base = np.cumsum([0] + [s.n_clusters for s in self.stages])
        self.position = _cat([s.position for s in self.stages], np.int64)
        self.keeper = _cat([s.keeper for s in self.stages], np.int64)
        self.score = _cat([s.score for s in self.stages], np.float64)
        self.linked_to = _cat([s.linked_to for s in self.stages], np.int64)
        self.link_score = _cat([s.link_score for s in self.stages], np.float64)
        self.stage_of = _cat([np.full(len(s), i) for i, s in enumerate(self.stages)], np.int8)
        self.cluster = _cat([s.cluster + base[i] for i, s in enumerate(self.stages)], np.int64)
        self.cluster_kept = _cat([s.kept for s in self.stages], np.int64)
        self.cluster_stage = _cat(
            [np.full(s.n_clusters, i) for i, s in enumerate(self.stages)], np.int8
        )
        self.cluster_size = _cat([np.diff(s.offsets) for s in self.stages], np.int64)
        self._by_position = np.argsort(self.position, kind="stable")
        self._sorted_position = self.position[self._by_position]
        self.survivor = self._survivors()
        self._by_keeper = np.argsort(self.keeper, kind="stable")
        self._by_kept = np.argsort(self.cluster_kept, kind="stable")
        self._survivors_sorted, self._duplicates = np.unique(self.survivor, return_counts=True)

    def __len__(self) -> int:
        return int(self.position.shape[0])

    def _survivors(self) -> IntArray:
        current = self.keeper.copy()
        while True:
            at = np.searchsorted(self._sorted_position, current)
            at = np.minimum(at, max(len(self) - 1, 0))
            moved = self._sorted_position[at] == current if len(self) else np.zeros(0, np.bool_)
            if not moved.any():
                return np.asarray(current, dtype=np.int64)
            current[moved] = self.keeper[self._by_position[at[moved]]]

    def _because(self, cluster: int) -> str:
        stage = self.stages[int(self.cluster_stage[cluster])]
        base = cluster - int(np.searchsorted(self.cluster_stage, self.cluster_stage[cluster]))
        return stage.kept_because(base)

    def _range(self, keys: IntArray, order: IntArray, lo: int, hi: int) -> IntArray:
        return order[np.searchsorted(keys, lo) : np.searchsorted(keys, hi)]

    def verdicts(self, lo: int, hi: int, lookup: Lookup) -> dict[int, Verdict]:
        """What becomes of each document at positions `lo..hi-1` that dedup touched."""
        drops = self._by_position[
            np.searchsorted(self._sorted_position, lo) : np.searchsorted(self._sorted_position, hi)
        ]
        won = self._range(self.cluster_kept[self._by_kept], self._by_kept, lo, hi)
        over = self._range(self.keeper[self._by_keeper], self._by_keeper, lo, hi)
        wanted = np.unique(
            np.concatenate([self.keeper[drops], self.survivor[drops], self.position[over]])
        )
        names = dict(zip(wanted.tolist(), lookup.ids(wanted), strict=True))
        out: dict[int, Verdict] = {}
        for d in drops.tolist():
            stage = self.stages[int(self.stage_of[d])]
            out[int(self.position[d])] = (
                stage.reason,
                {
                    "duplicate_of": names[int(self.keeper[d])],
                    "score": float(self.score[d]),
                    "dedup_stage": stage.stage,
                    "kept_because": self._because(int(self.cluster[d])),
                    "survivor": names[int(self.survivor[d])],
                },
            )

        records: dict[int, DedupMetadata] = {}

        def record(position: int) -> DedupMetadata:
            return records.setdefault(position, {"clusters": [], "kept_over": [], "duplicates": 0})

        for c in won.tolist():
            record(int(self.cluster_kept[c]))["clusters"].append(
                {
                    "stage": self.stages[int(self.cluster_stage[c])].stage,
                    "cluster": c,
                    "size": int(self.cluster_size[c]),
                    "kept_because": self._because(c),
                }
            )
        for d in over.tolist():
            entry: DedupKeptOver = {
                "id": names[int(self.position[d])],
                "stage": self.stages[int(self.stage_of[d])].stage,
                "score": float(self.score[d]),
            }
            record(int(self.keeper[d]))["kept_over"].append(entry)
        first = np.searchsorted(self._survivors_sorted, lo)
        last = np.searchsorted(self._survivors_sorted, hi)
        for s, n in zip(
            self._survivors_sorted[first:last].tolist(),
            self._duplicates[first:last].tolist(),
            strict=True,
        ):
            record(s)["duplicates"] += n
        for position, found in records.items():  # a dropped document carries no record
            out.setdefault(position, found)
        return out

    def dropped_rows(self, lookup: Lookup) -> Iterator[dict[str, Any]]:
        """The report's `dropped` entries, in drop order."""
        for start in range(0, len(self), _ROWS):
            block = np.arange(start, min(start + _ROWS, len(self)))
            linked, link_score = self.linked_to[block], self.link_score[block]
            wanted = np.unique(
                np.concatenate(
                    [self.position[block], self.keeper[block], linked, self.survivor[block]]
                )
            )
            names = dict(zip(wanted.tolist(), lookup.ids(wanted), strict=True))
            for k, d in enumerate(block.tolist()):
                stage = self.stages[int(self.stage_of[d])]
                position, kept = int(self.position[d]), int(self.keeper[d])
                yield {
                    "id": names[position],
                    "position": position,
                    "duplicate_of": names[kept],
                    "duplicate_of_position": kept,
                    "stage": stage.stage,
                    "reason": stage.reason,
                    "score": float(self.score[d]),
                    "kept_because": self._because(int(self.cluster[d])),
                    "linked_to": names[int(linked[k])],
                    "link_score": float(link_score[k]),
                    "survivor": names[int(self.survivor[d])],
                }

    def _members(self, cluster: int) -> IntArray:
        stage = self.stages[int(self.cluster_stage[cluster])]
        local = cluster - int(np.searchsorted(self.cluster_stage, self.cluster_stage[cluster]))
        return stage.members[stage.offsets[local] : stage.offsets[local + 1]]

    def cluster_rows(
        self, lookup: Lookup, clusters: Sequence[int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The report's `clusters` entries (all, or those named), with member snippets."""
        chosen = list(range(len(self.cluster_kept))) if clusters is None else list(clusters)
        start = 0
        while start < len(chosen):
            stop, size = start, 0
            while stop < len(chosen) and (stop == start or size < _ROWS):
                size += int(self.cluster_size[chosen[stop]])
                stop += 1
            block = chosen[start:stop]
            everyone = np.unique(np.concatenate([self._members(c) for c in block]))
            names = dict(zip(everyone.tolist(), lookup.ids(everyone), strict=True))
            texts = dict(zip(everyone.tolist(), lookup.snippets(everyone), strict=True))
            at = np.minimum(np.searchsorted(self._sorted_position, everyone), max(len(self) - 1, 0))
            scores = dict(
                zip(everyone.tolist(), self.score[self._by_position[at]].tolist(), strict=True)
            )
            for c in block:
                kept = int(self.cluster_kept[c])
                yield {
                    "stage": self.stages[int(self.cluster_stage[c])].stage,
                    "size": int(self.cluster_size[c]),
                    "kept": names[kept],
                    "kept_position": kept,
                    "kept_because": self._because(c),
                    "members": [
                        {
                            "id": names[m],
                            "position": m,
                            "score": scores[m] if m != kept else None,
                            "snippet": texts[m],
                        }
                        for m in self._members(c).tolist()
                    ],
                }
            start = stop

    def cluster_sizes(self) -> dict[str, int]:
        sizes = Counter(self.cluster_size.tolist())
        return {str(k): sizes[k] for k in sorted(sizes)}

    def largest_clusters(self, count: int) -> list[int]:
        """Cluster numbers of the `count` largest, ties by kept position then run order."""
        order = np.lexsort((self.cluster_kept, -self.cluster_size))
        return [int(c) for c in order[:count]]


def apply_verdicts(
    docs: Iterable[Document], start: int, verdicts: dict[int, Verdict]
) -> Iterator[Decision]:
    """Decisions for `docs` (at corpus positions from `start` on), from `Outcome.verdicts`."""
    for position, doc in enumerate(docs, start):
        verdict = verdicts.get(position)
        if isinstance(verdict, tuple):
            yield Decision(doc, verdict[0], verdict[1])
        elif verdict is not None:
            yield Decision(replace(doc, metadata={**doc.metadata, "dedup": verdict}))
        else:
            yield Decision(doc)
