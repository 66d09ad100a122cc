"""The second pass's per-partition work, as executor tasks over partitions on disk.

The driver spreads records into partition files in the work folder
(`buckets`); each task here reads one partition, sorts and groups it alone,
and returns its small result: an exact partition's links, a pair
partition's verified edges. Between the near stage's two steps the
candidate pairs are partitioned again, by first document: each bucket task
writes its own `RunFile`, and each verifying task reads its slice of every
one. A task's context carries only paths, sizes and settings (the first
pass's parts, to open a `Store` on them), so the tasks run in this process
or on a cluster's workers alike, and the driver, combining results in
partition order, gets the same arrays either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.dedup.clusters import FloatArray, IntArray
from toolkit.dedup.lsh import jaccard
from toolkit.dedup.memory import Budget
from toolkit.dedup.minhash import sorted_unique
from toolkit.dedup.partition import RunFile, read_partition, read_runs
from toolkit.dedup.work import Part, Store

__all__ = [
    "BUCKET",
    "EXACT",
    "ExactJob",
    "PairJob",
    "VerifyJob",
    "exact_task",
    "pair_task",
    "store_jaccard",
    "verify_task",
]

EXACT = np.dtype([("k", "<u8", (4,)), ("pos", "<i8")])
BUCKET = np.dtype([("key", "<u8"), ("tag", "<u8")])  # tag: band << 48 | position
_POSITION = np.uint64((1 << 48) - 1)


def store_jaccard(store: Store, a: IntArray, b: IntArray, budget: Budget) -> FloatArray:
    """Exact Jaccard similarity of each pair's shingle sets, read from disk in blocks."""
    out = np.zeros(a.shape[0], dtype=np.float32)
    if not a.shape[0]:
        return out
    work = np.cumsum(store.shingle_sizes(a) + store.shingle_sizes(b))
    start = 0
    while start < a.shape[0]:
        base = int(work[start - 1]) if start else 0
        limit = base + budget.verify_elements
        stop = max(start + 1, int(np.searchsorted(work, limit, side="right")))
        pa, pb = a[start:stop], b[start:stop]
        unique = np.unique(np.concatenate([pa, pb]))
        sets = store.shingle_sets(unique)
        out[start:stop] = jaccard(sets, np.searchsorted(unique, pa), np.searchsorted(unique, pb))
        start = stop
    return out


@dataclass(frozen=True)
class ExactJob:
    """Where the exact stage's partitions (`EXACT` records) lie."""

    folder: Path


def exact_task(job: ExactJob, part: int) -> tuple[IntArray, IntArray, int]:
    """One partition's groups of equal keys: each later member linked to its group's first
    (the firsts, the later members), and how many groups."""
    records = read_partition(job.folder, part, EXACT)
    words = records["k"]
    order = np.lexsort((records["pos"], words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
    words, pos = words[order], records["pos"][order]
    new = np.ones(pos.shape[0], dtype=np.bool_)
    new[1:] = (words[1:] != words[:-1]).any(axis=1)
    first = pos[new][np.cumsum(new) - 1]
    return first[~new], pos[~new], int(new.sum())


@dataclass(frozen=True)
class PairJob:
    """The near stage's bucket partitions, and where their candidate pairs go."""

    buckets: Path
    pairs: Path  # a `RunFile` per bucket partition
    pair_parts: int
    total: int  # pairs are coded `a * total + b`
    window: int  # `bucket_window`
    buffer_bytes: int


def pair_task(job: PairJob, part: int) -> int:
    """One bucket partition sorted into buckets and each document paired with its next
    `window` bucket mates; the pairs written, by their first document's pair partition,
    to this partition's `RunFile`. How many were written."""
    records = read_partition(job.buckets, part, BUCKET)
    order = np.lexsort((records["tag"], records["key"]))
    key, tag = records["key"][order], records["tag"][order]
    band, pos = tag >> np.uint64(48), tag & _POSITION
    total = np.uint64(job.total)
    out = RunFile(job.pairs / f"{part:05d}", job.pair_parts, np.uint64, job.buffer_bytes)
    for step in range(1, job.window + 1):
        same = (key[step:] == key[:-step]) & (band[step:] == band[:-step])
        if not same.any():
            break
        lo, hi = pos[:-step][same], pos[step:][same]
        codes = sorted_unique(lo * total + hi)
        first = codes // total
        out.add(codes, (first * np.uint64(job.pair_parts) // total).astype(np.int64))
    out.close()
    return out.records


@dataclass(frozen=True)
class VerifyJob:
    """The pairs the bucket tasks wrote, and what verifying them reads and needs."""

    pairs: Path
    maps: int  # bucket partitions, each of which wrote one `RunFile`
    total: int
    threshold: float
    parts: tuple[Part, ...]  # the first pass's, whose shingle sets are compared
    budget: Budget


def verify_task(job: VerifyJob, part: int) -> tuple[IntArray, IntArray, FloatArray, int]:
    """One pair partition's distinct pairs, scored by exact Jaccard: those that pass
    (first documents, second documents, scores) and how many were scored."""
    paths = [job.pairs / f"{p:05d}" for p in range(job.maps)]
    codes = sorted_unique(read_runs(paths, part, np.uint64))
    total = np.uint64(job.total)
    a, b = (codes // total).astype(np.int64), (codes % total).astype(np.int64)
    score = store_jaccard(Store(job.parts), a, b, job.budget)
    hit = score >= job.threshold
    return a[hit], b[hit], score[hit], int(codes.shape[0])
