"""Near-duplicate stage: LSH banding over MinHash signatures, then true Jaccard.

LSH only proposes candidates; each candidate pair counts as a duplicate edge
only once the Jaccard similarity of its two shingle sets, computed exactly,
reaches the threshold. So bands can be tuned for recall without hurting
precision: a false candidate costs one verification, never a wrong drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.minhash import (
    U32,
    U64,
    ShingleSets,
    minhash_signatures,
    optimal_bands,
    sorted_unique,
)
from toolkit.dedup.minhash import shingle_sets as make_shingle_sets
from toolkit.document import Document

__all__ = ["NearStage", "band_keys", "candidate_pairs", "jaccard"]

_GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio)
_FOLD = np.uint64(_GOLDEN)
_VERIFY_ELEMENTS = 1 << 22  # shingles sorted at once when verifying pairs


def band_keys(signatures: U32, bands: int, rows: int) -> U64:
    """One 64-bit key per (band, document): the band's rows folded together.

    Two documents share a bucket when their keys match; a 64-bit fold can
    collide by chance (about n**2 / 2**65), which costs a verification only.
    """
    n = signatures.shape[1]
    keys = np.empty((bands, n), dtype=np.uint64)
    for band in range(bands):
        key = np.full(n, ((band + 1) * _GOLDEN) % 2**64, dtype=np.uint64)
        for row in signatures[band * rows : (band + 1) * rows]:
            key ^= row.astype(np.uint64)
            key *= _FOLD
            key ^= key >> np.uint64(29)
        keys[band] = key
    return keys


def candidate_pairs(keys: U64, members: IntArray, window: int) -> tuple[IntArray, IntArray]:
    """Distinct pairs `(a < b)` of `members` that share a bucket in any band.

    Within a bucket each document is paired with its next `window` bucket
    mates (in index order), which bounds the work of a pathological bucket of
    thousands; verified edges chain them into one cluster all the same.
    """
    n_total = int(members.max()) + 1 if members.shape[0] else 0
    found: list[U64] = []
    for band_keys_ in keys:
        sub = band_keys_[members]
        order = np.lexsort((members, sub))
        sorted_keys, sorted_ids = sub[order], members[order]
        for step in range(1, window + 1):
            same = sorted_keys[step:] == sorted_keys[:-step]
            if not same.any():
                break
            lo, hi = sorted_ids[:-step][same], sorted_ids[step:][same]
            found.append(lo.astype(np.uint64) * np.uint64(n_total) + hi.astype(np.uint64))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = sorted_unique(np.concatenate(found))
    return (pairs // np.uint64(n_total)).astype(np.int64), (pairs % np.uint64(n_total)).astype(
        np.int64
    )


def _gather(sets: ShingleSets, docs: IntArray) -> tuple[U32, IntArray]:
    """Concatenated shingles of `docs`, and for each shingle its position in `docs`."""
    sizes = sets.sizes[docs]
    owner = np.repeat(np.arange(docs.shape[0], dtype=np.int64), sizes)
    first = np.cumsum(sizes) - sizes
    pos = np.arange(int(sizes.sum()), dtype=np.int64) - first[owner] + sets.offsets[docs][owner]
    return sets.values[pos], owner


def jaccard(sets: ShingleSets, a: IntArray, b: IntArray) -> FloatArray:
    """Exact Jaccard similarity of the shingle sets of each pair `(a[k], b[k])`.

    Vectorised: both sides of a block of pairs are tagged with the pair's
    number, sorted together, and equal neighbours counted as the intersection.
    """
    out = np.zeros(a.shape[0], dtype=np.float32)
    work = np.cumsum(sets.sizes[a] + sets.sizes[b])
    start = 0
    while start < a.shape[0]:
        base = int(work[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(work, base + _VERIFY_ELEMENTS, side="right")))
        pa, pb = a[start:stop], b[start:stop]
        va, oa = _gather(sets, pa)
        vb, ob = _gather(sets, pb)
        tagged = np.concatenate(
            [
                (oa.astype(np.uint64) << np.uint64(32)) | va,
                (ob.astype(np.uint64) << np.uint64(32)) | vb,
            ]
        )
        tagged.sort()
        equal = tagged[1:] == tagged[:-1]
        common = np.bincount(
            (tagged[1:][equal] >> np.uint64(32)).astype(np.int64), minlength=stop - start
        )
        union = sets.sizes[pa] + sets.sizes[pb] - common
        out[start:stop] = np.where(union > 0, common / np.maximum(union, 1), 1.0)
        start = stop
    return out


class NearStage:
    """MinHash + LSH candidates, kept as edges when their true Jaccard >= threshold."""

    name = "near"
    reason = "near-duplicate"

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        if config.bands is None:
            self.bands, self.rows = optimal_bands(config.near_threshold, config.num_perm)
        else:
            self.bands, self.rows = config.bands, config.num_perm // config.bands
        self.sets = ShingleSets(np.zeros(0, np.uint32), np.zeros(1, np.int64))
        self.stats: dict[str, Any] = {}

    def find(self, docs: Sequence[Document]) -> Edges:
        cfg = self.config
        self.sets = make_shingle_sets([d.text for d in docs], cfg.ngram)
        signatures = minhash_signatures(self.sets, cfg.num_perm, cfg.seed)
        keys = band_keys(signatures, self.bands, self.rows)
        members = np.flatnonzero(self.sets.sizes > 0).astype(np.int64)
        a, b = candidate_pairs(keys, members, cfg.bucket_window)
        score = jaccard(self.sets, a, b)
        hit = score >= cfg.near_threshold
        self.stats = {
            "bands": self.bands,
            "rows": self.rows,
            "candidates": int(a.shape[0]),
            "verified": int(hit.sum()),
            "index_bytes": int(signatures.nbytes + keys.nbytes),
            "shingle_bytes": self.sets.nbytes(),
        }
        return Edges(a[hit], b[hit], score[hit])

    def scores(self, a: IntArray, b: IntArray) -> FloatArray:
        return jaccard(self.sets, a, b)
