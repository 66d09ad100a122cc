"""Word n-gram shingles and their MinHash signatures, vectorised over a whole corpus.

No Python loop runs per word or shingle: words are hashed by
`toolkit.dedup.tokens`, n-gram hashes are combined from shifted word arrays,
and all permutations are applied at once to blocks of shingles.

Permutations are `(a*x + b) mod 2**32` with random odd a, on 32-bit
shingle hashes x that are already murmur-mixed: uint32 arithmetic is four
times faster than `(a*x + b) mod p` in 64 bits, and on mixed inputs the
agreement of two signatures estimates Jaccard without bias and with the
binomial variance (tested). It needs no more: LSH only proposes candidates,
and every candidate is verified by its exact Jaccard similarity.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolkit.dedup.tokens import word_hashes

__all__ = ["ShingleSets", "minhash_signatures", "optimal_bands", "shingle_sets", "sorted_unique"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_SHIFT = np.uint64(32)
_GROUP_WORDS = 1 << 18  # words shingled at once: a few MiB per array
_BLOCK_ELEMENTS = 1 << 19  # permutations x shingles per block: 2 MiB, stays in cache


@dataclass(frozen=True, slots=True)
class ShingleSets:
    """Each document's sorted distinct 32-bit shingle hashes, `values[offsets[i]:offsets[i+1]]`."""

    values: U32
    offsets: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        return np.diff(self.offsets)

    def nbytes(self) -> int:
        return int(self.values.nbytes + self.offsets.nbytes)


def sorted_unique(values: U64) -> U64:
    """`np.unique` for integers by sort and compare, several times faster on numpy 2's default."""
    values = np.sort(values)
    keep = np.empty(values.shape[0], dtype=np.bool_)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _mix(h: U64) -> U64:
    """murmur3's 64-bit finaliser: spreads n-gram sums over all bits."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _multipliers(n: int) -> U64:
    rng = np.random.default_rng(0x5EED)
    return rng.integers(1, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _group_shingles(words: U64, lengths: I64, first_doc: int, mult: U64) -> U64:
    """`(document << 32) | shingle hash` for a run of whole documents, sorted and distinct."""
    n = mult.shape[0]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    doc_of = np.repeat(np.arange(lengths.shape[0], dtype=np.int64), lengths)
    combined = words * mult[0]
    for k in range(1, n):  # the k-th word of every n-gram at once
        combined[: words.shape[0] - k] += words[k:] * mult[k]
    span = np.minimum(lengths, n)  # words per shingle: n, or all of a short text
    valid = np.arange(words.shape[0]) + span[doc_of] <= ends[doc_of]
    short = np.flatnonzero((lengths > 0) & (lengths < n))
    if short.shape[0]:  # a short text's one shingle: the sum over its own words only
        total = np.zeros(short.shape[0], dtype=np.uint64)
        for k in range(n - 1):
            has = lengths[short] > k
            total[has] += words[starts[short][has] + k] * mult[k]
        combined[starts[short]] = total
    values = _mix(combined[valid]) >> _SHIFT
    owner = (doc_of[valid] + first_doc).astype(np.uint64) << _SHIFT
    return sorted_unique(owner | values)


def shingle_sets(texts: Sequence[str], n: int) -> ShingleSets:
    """Distinct word n-gram hashes of each text (case-folded, NFKC, `\\w+` words).

    A text of fewer than n words (but at least one) has one shingle: all its
    words. A text without words has none and can match nothing. Documents
    are processed in runs of about `_GROUP_WORDS` words, so arrays stay in cache.
    """
    if not texts:
        return ShingleSets(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    hashes, lengths = word_hashes(texts)
    word_ends = np.cumsum(lengths)
    mult = _multipliers(n)
    parts: list[U64] = []
    doc = 0
    while doc < len(texts):
        word0 = int(word_ends[doc] - lengths[doc])
        stop = max(doc + 1, int(np.searchsorted(word_ends, word0 + _GROUP_WORDS, side="right")))
        words = hashes[word0 : int(word_ends[stop - 1])]
        parts.append(_group_shingles(words, lengths[doc:stop], doc, mult))
        doc = stop
    keyed = np.concatenate(parts)
    owner = (keyed >> _SHIFT).astype(np.int64)
    offsets = np.searchsorted(owner, np.arange(len(texts) + 1), side="left").astype(np.int64)
    return ShingleSets((keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets)


def _permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64)
    return a.astype(np.uint32), b.astype(np.uint32)


def minhash_signatures(sets: ShingleSets, num_perm: int, seed: int = 1) -> U32:
    """Signatures as a `(num_perm, n_docs)` uint32 array (permutation-major, for banding).

    Shingles are processed in blocks of whole documents: one
    `(num_perm, block)` product, then a segmented minimum per document. A
    document without shingles gets all-ones (it is excluded from LSH).
    """
    a, b = _permutations(num_perm, seed)
    col_a, col_b = a[:, None], b[:, None]
    out = np.full((num_perm, len(sets)), np.iinfo(np.uint32).max, dtype=np.uint32)
    docs = np.flatnonzero(sets.sizes > 0)
    per_block = max(1, _BLOCK_ELEMENTS // num_perm)
    buffer = np.empty((num_perm, per_block), dtype=np.uint32)
    ends = sets.offsets[docs + 1]
    i = 0
    while i < docs.shape[0]:
        lo = int(sets.offsets[docs[i]])
        j = max(i + 1, int(np.searchsorted(ends, lo + per_block, side="right")))
        hi = int(ends[j - 1])
        block = (
            buffer[:, : hi - lo]
            if hi - lo <= per_block
            else np.empty((num_perm, hi - lo), np.uint32)
        )
        np.multiply(col_a, sets.values[lo:hi][None, :], out=block)
        np.add(block, col_b, out=block)
        out[:, docs[i:j]] = np.minimum.reduceat(block, sets.offsets[docs[i:j]] - lo, axis=1)
        i = j
    return out


@functools.cache
def optimal_bands(threshold: float, num_perm: int, fn_weight: float = 0.95) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising weighted error areas.

    False positives cost only a verification, false negatives are lost
    duplicates, so misses weigh more than datasketch's even split.
    """
    s = np.linspace(0.0, 1.0, 1001)
    below, above = s <= threshold, s >= threshold
    best: tuple[float, int, int] = (np.inf, 1, num_perm)
    for bands in range(1, num_perm + 1):
        rows = num_perm // bands
        p = 1.0 - (1.0 - s**rows) ** bands
        fp = float(np.trapezoid(p[below], s[below])) if below.sum() > 1 else 0.0
        fn = float(np.trapezoid(1.0 - p[above], s[above])) if above.sum() > 1 else 0.0
        error = (1.0 - fn_weight) * fp + fn_weight * fn
        if error < best[0] - 1e-12:
            best = (error, bands, rows)
    return best[1], best[2]
