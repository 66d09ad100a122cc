"""Second pass, exact and near stages: group the first pass's keys through disk partitions.

Exact: documents partitioned by their exact key, each partition sorted, and
every later member of a group linked to its first. Near: each document's LSH
band keys partitioned by key, each partition sorted into buckets, bucket
mates paired (each with its next `bucket_window`, as `candidate_pairs`
does), the pairs partitioned by their first document so that each is
verified once, by the exact Jaccard similarity of shingle sets read from
disk. Only the edges that pass, and the partition being sorted, are held.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.lsh import jaccard
from toolkit.dedup.memory import Budget
from toolkit.dedup.minhash import sorted_unique
from toolkit.dedup.partition import Partitions, partition_count
from toolkit.dedup.scan import bands_of
from toolkit.dedup.work import Store, WorkDir
from toolkit.progress import Step

__all__ = ["exact_edges", "near_edges", "store_jaccard"]

Mask = npt.NDArray[np.bool_]
_EXACT = np.dtype([("k", "<u8", (4,)), ("pos", "<i8")])
_BUCKET = np.dtype([("key", "<u8"), ("tag", "<u8")])  # tag: band << 48 | position
_POSITION = np.uint64((1 << 48) - 1)


def exact_edges(
    store: Store, alive: Mask, work: WorkDir, budget: Budget, bar: Step
) -> tuple[Edges, dict[str, Any]]:
    """Edges from the first of each group of equal exact keys to every other member."""
    folder = work.begin(work.folder("buckets", "exact"))
    count = partition_count(int(alive.sum()), _EXACT.itemsize, budget.partition_bytes)
    parts = Partitions(folder, count, _EXACT, budget.buffer_bytes)
    bar.update(total=count)
    for part in store.parts:
        keep = alive[part.start : part.start + part.count]
        keys = np.ascontiguousarray(part.array("exact")[keep]).view("<u8").reshape(-1, 4)
        records = np.empty(keys.shape[0], _EXACT)
        records["k"] = keys
        records["pos"] = np.flatnonzero(keep) + part.start
        parts.add(records, keys[:, 0] % np.uint64(count))
    a: list[IntArray] = []
    b: list[IntArray] = []
    groups = 0
    for p in range(count):
        records = parts.read(p)
        words = records["k"]
        order = np.lexsort((records["pos"], words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
        words, pos = words[order], records["pos"][order]
        new = np.ones(pos.shape[0], dtype=np.bool_)
        new[1:] = (words[1:] != words[:-1]).any(axis=1)
        groups += int(new.sum())
        first = pos[new][np.cumsum(new) - 1]
        a.append(first[~new])
        b.append(pos[~new])
        bar.advance()
    parts.remove()
    edges = Edges(
        np.concatenate(a) if a else np.zeros(0, np.int64),
        np.concatenate(b) if b else np.zeros(0, np.int64),
        np.ones(sum(x.shape[0] for x in a), np.float32),
    )
    return edges, {"groups": groups}


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


def _buckets(store: Store, members: Mask, parts: Partitions, bands: int) -> None:
    for part in store.parts:
        keep = members[part.start : part.start + part.count]
        if not keep.any():
            continue
        keys = np.asarray(part.array("bands")[:, keep])
        positions = (np.flatnonzero(keep) + part.start).astype(np.uint64)
        for band in range(bands):
            records = np.empty(positions.shape[0], _BUCKET)
            records["key"] = keys[band]
            records["tag"] = (np.uint64(band) << np.uint64(48)) | positions
            parts.add(records, keys[band] % np.uint64(parts.count))


def near_edges(
    store: Store,
    alive: Mask,
    config: DedupConfig,
    work: WorkDir,
    budget: Budget,
    bar: Step,
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
    count = partition_count(int(members.sum()) * bands, _BUCKET.itemsize, budget.partition_bytes)
    buckets = Partitions(folder / "buckets", count, _BUCKET, budget.buffer_bytes)
    _buckets(store, members, buckets, bands)
    pairs = Partitions(folder / "pairs", 2 * count, np.uint64, budget.buffer_bytes)
    bar.update(total=count + pairs.count)
    total = np.uint64(max(n, 1))
    for p in range(count):
        records = buckets.read(p)
        order = np.lexsort((records["tag"], records["key"]))
        key, tag = records["key"][order], records["tag"][order]
        band, pos = tag >> np.uint64(48), tag & _POSITION
        for step in range(1, config.bucket_window + 1):
            same = (key[step:] == key[:-step]) & (band[step:] == band[:-step])
            if not same.any():
                break
            lo, hi = pos[:-step][same], pos[step:][same]
            codes = sorted_unique(lo * total + hi)
            first = codes // total
            pairs.add(codes, (first * np.uint64(pairs.count) // total).astype(np.int64))
        bar.advance()
    buckets.remove()
    a_parts: list[IntArray] = []
    b_parts: list[IntArray] = []
    s_parts: list[FloatArray] = []
    candidates = 0
    for q in range(pairs.count):
        codes = sorted_unique(pairs.read(q))
        a, b = (codes // total).astype(np.int64), (codes % total).astype(np.int64)
        candidates += int(codes.shape[0])
        score = store_jaccard(store, a, b, budget)
        hit = score >= config.near_threshold
        a_parts.append(a[hit])
        b_parts.append(b[hit])
        s_parts.append(score[hit])
        bar.advance()
    pairs.remove()
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
