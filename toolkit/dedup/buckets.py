"""Second pass, exact and near stages: group the first pass's keys through disk partitions.

Exact: documents partitioned by their exact key, each partition sorted, and
every later member of a group linked to its first. Near: each document's LSH
band keys partitioned by key, each partition sorted into buckets, bucket
mates paired (each with its next `bucket_window`, as `candidate_pairs`
does), the pairs partitioned by their first document so that each is
verified once, by the exact Jaccard similarity of shingle sets read from
disk. This process writes the partitions; the sorting, pairing and
verifying of each is a task of the `executor` (`bucket_tasks`), so on a
cluster it is a shuffle through the work folder. Only the edges that pass,
and what each task holds of its one partition, are held.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.dedup.bucket_tasks import (
    BUCKET,
    EXACT,
    ExactJob,
    PairJob,
    VerifyJob,
    exact_task,
    pair_task,
    store_jaccard,
    verify_task,
)
from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.memory import Budget
from toolkit.dedup.partition import Partitions, partition_count
from toolkit.dedup.scan import bands_of
from toolkit.dedup.work import Store, WorkDir
from toolkit.executor import Executor
from toolkit.progress import Step

__all__ = ["exact_edges", "near_edges", "store_jaccard"]

Mask = npt.NDArray[np.bool_]


def exact_edges(
    store: Store, alive: Mask, work: WorkDir, budget: Budget, bar: Step, executor: Executor
) -> tuple[Edges, dict[str, Any]]:
    """Edges from the first of each group of equal exact keys to every other member."""
    folder = work.begin(work.folder("buckets", "exact"))
    count = partition_count(int(alive.sum()), EXACT.itemsize, budget.partition_bytes)
    parts = Partitions(folder, count, EXACT, budget.buffer_bytes)
    bar.update(total=count)
    for part in store.parts:
        keep = alive[part.start : part.start + part.count]
        keys = np.ascontiguousarray(part.array("exact")[keep]).view("<u8").reshape(-1, 4)
        records = np.empty(keys.shape[0], EXACT)
        records["k"] = keys
        records["pos"] = np.flatnonzero(keep) + part.start
        parts.add(records, keys[:, 0] % np.uint64(count))
    parts.flush()
    a: list[IntArray] = []
    b: list[IntArray] = []
    groups = 0
    for first, later, found in executor.map_shards(exact_task, ExactJob(folder), range(count)):
        a.append(first)
        b.append(later)
        groups += found
        bar.advance()
    parts.remove()
    edges = Edges(
        np.concatenate(a) if a else np.zeros(0, np.int64),
        np.concatenate(b) if b else np.zeros(0, np.int64),
        np.ones(sum(x.shape[0] for x in a), np.float32),
    )
    return edges, {"groups": groups}


def _buckets(store: Store, members: Mask, parts: Partitions, bands: int) -> None:
    for part in store.parts:
        keep = members[part.start : part.start + part.count]
        if not keep.any():
            continue
        keys = np.asarray(part.array("bands")[:, keep])
        positions = (np.flatnonzero(keep) + part.start).astype(np.uint64)
        for band in range(bands):
            records = np.empty(positions.shape[0], BUCKET)
            records["key"] = keys[band]
            records["tag"] = (np.uint64(band) << np.uint64(48)) | positions
            parts.add(records, keys[band] % np.uint64(parts.count))
    parts.flush()


def near_edges(
    store: Store,
    alive: Mask,
    config: DedupConfig,
    work: WorkDir,
    budget: Budget,
    bar: Step,
    executor: Executor,
) -> tuple[Edges, dict[str, Any]]:
    """LSH candidates among `alive` documents, kept as edges when their Jaccard passes."""
    bands, rows = bands_of(config)
    sizes = np.concatenate(  # 4 bytes a document: the one array over the whole corpus
        [np.diff(np.asarray(p.array("shingle_offsets"))).astype(np.int32) for p in store.parts]
        or [np.zeros(0, np.int32)]
    )
    members = alive & (sizes > 0)
    n_alive, n = int(alive.sum()), store.documents
    folder = work.begin(work.folder("buckets", "near"))
    count = partition_count(int(members.sum()) * bands, BUCKET.itemsize, budget.partition_bytes)
    buckets = Partitions(folder / "buckets", count, BUCKET, budget.buffer_bytes)
    _buckets(store, members, buckets, bands)
    pairs = folder / "pairs"
    pairs.mkdir()
    total = max(n, 1)
    pairing = PairJob(
        folder / "buckets", pairs, 2 * count, total, config.bucket_window, budget.buffer_bytes
    )
    bar.update(total=count + pairing.pair_parts)
    for _ in executor.map_shards(pair_task, pairing, range(count)):
        bar.advance()
    buckets.remove()
    verifying = VerifyJob(pairs, count, total, config.near_threshold, tuple(store.parts), budget)
    a_parts: list[IntArray] = []
    b_parts: list[IntArray] = []
    s_parts: list[FloatArray] = []
    candidates = 0
    for a, b, score, found in executor.map_shards(
        verify_task, verifying, range(pairing.pair_parts)
    ):
        a_parts.append(a)
        b_parts.append(b)
        s_parts.append(score)
        candidates += found
        bar.advance()
    shutil.rmtree(pairs, ignore_errors=True)
    edges = Edges(
        np.concatenate(a_parts) if a_parts else np.zeros(0, np.int64),
        np.concatenate(b_parts) if b_parts else np.zeros(0, np.int64),
        np.concatenate(s_parts) if s_parts else np.zeros(0, np.float32),
    )
    shingles = int(sizes[alive].sum(dtype=np.int64))
    stats = {
        "bands": bands,
        "rows": rows,
        "candidates": candidates,
        "verified": len(edges),
        "index_bytes": config.num_perm * 4 * n_alive + bands * 8 * n_alive,
        "shingle_bytes": shingles * 4 + (n_alive + 1) * 8,
    }
    return edges, stats
