"""Words of many texts as 64-bit hashes, without a Python step per word.

Texts are joined (a NUL byte after each), NFKC-normalised and case-folded in
one call each, and encoded to UTF-8; numpy then finds word boundaries with a
byte table and hashes every word at once as a polynomial over its bytes,
from a prefix sum: `sum(b[i] * B**(i - start))` is
`(prefix[end] - prefix[start]) * B**-start` modulo 2**64 (B is odd, so it has
an inverse). The hash depends only on the word, never on corpus order or
PYTHONHASHSEED, so runs are reproducible.

Words are `\\w+` runs, as in `re`: non-ASCII characters that are not word
characters (curly quotes, dashes) are turned into spaces first, with one
regex pass that only runs on texts that are not pure ASCII.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["word_hashes"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_BASE = 0x100000001B3  # the 64-bit FNV prime: odd, so invertible modulo 2**64
_CHUNK_CHARS = 1 << 17  # characters joined and hashed at once: ~6 MiB, and faster than more
_NON_WORD = re.compile(r"[^\x00-\x7f\w]+")

_WORD_BYTE = np.zeros(256, dtype=np.bool_)
_WORD_BYTE[list(b"0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")] = True
_WORD_BYTE[0x80:] = True  # bytes of non-ASCII characters left after _NON_WORD: word characters


@functools.cache
def _powers(size: int) -> tuple[U64, U64]:
    """B**i and B**-i modulo 2**64 for i < size (size a power of two, cached)."""
    up = np.full(size, _BASE, dtype=np.uint64)
    up[0] = 1
    down = np.full(size, pow(_BASE, -1, 2**64), dtype=np.uint64)
    down[0] = 1
    return np.cumprod(up), np.cumprod(down)


def _groups(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    start = size = 0
    for i, text in enumerate(texts):
        size += len(text) + 3
        if size >= _CHUNK_CHARS:
            yield texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts):
        yield texts[start:]


def _hash_group(texts: Sequence[str]) -> tuple[U64, I64]:
    joined = "".join(f"{t.replace(chr(0), ' ')} \x00 " for t in texts)
    folded = unicodedata.normalize("NFKC", joined).casefold()
    if not folded.isascii():
        folded = _NON_WORD.sub(" ", folded)
    raw = np.frombuffer(folded.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    edges = np.diff(_WORD_BYTE[raw].view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    up, down = _powers(max(2 * _CHUNK_CHARS, 1 << int(raw.shape[0]).bit_length()))
    prefix = np.zeros(raw.shape[0] + 1, dtype=np.uint64)
    np.cumsum(raw * up[: raw.shape[0]], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * down[starts]
    separators = np.flatnonzero(raw == 0)
    counts = np.diff(np.searchsorted(starts, separators), prepend=0).astype(np.int64)
    return hashes, counts


def word_hashes(texts: Sequence[str]) -> tuple[U64, I64]:
    """Hashes of every word of every text, in order, and the number of words of each text."""
    if not texts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    parts = [_hash_group(group) for group in _groups(texts)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
