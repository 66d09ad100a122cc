"""Text normalisation and vectorised tokenisation shared by eval items and corpus.

Both sides must tokenise identically, or a verbatim leak slips through. The
rule: NFKC, then full Unicode case folding; a token is a run of letters, digits
and combining marks (punctuation, `_` and whitespace separate tokens), except
that each character of scripts written without spaces (Han, kana, Thai, Lao,
Khmer, Myanmar) is a token of its own.

Speed comes from doing this on code-point arrays: one table gather gives each
character's folded code point and class, and token hashes are polynomial hashes
taken from a prefix sum, so no Python code runs per token. Texts are tokenised
in their folded form; `offset_map` maps folded positions back to the original
text, for the few documents that have hits.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TokenBatch", "fold", "offset_map", "tokenise"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

SEP, WORD, SINGLE, MULTI = 0, 1, 2, 3  # character classes, kept in bits 24+ of the table
_CP_MASK = (1 << 24) - 1
_SINGLE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B onwards
)
MASK64 = (1 << 64) - 1
_P = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 1 << 64)


def fold(text: str) -> str:
    """The normalised form every comparison uses: NFKC, then case folding."""
    return unicodedata.normalize("NFKC", text).casefold()


def _class(char: str) -> int:
    if not (char.isalnum() or unicodedata.category(char).startswith("M")):
        return SEP
    code = ord(char)
    return SINGLE if any(lo <= code <= hi for lo, hi in _SINGLE_RANGES) else WORD


@functools.cache
def char_table() -> npt.NDArray[np.uint32]:
    """Per code point: folded code point | class << 24 (built once, ~0.1 s)."""
    table = np.arange(0x110000, dtype=np.uint32)  # unlisted planes: separators
    for code in [*range(0x20000), *range(0xE0000, 0xE1000)]:
        folded = chr(code).casefold()
        if len(folded) != 1:
            table[code] = MULTI << 24
        else:
            table[code] = ord(folded) | _class(folded) << 24
    table[0x20000:0x40000] |= np.uint32(SINGLE << 24)  # CJK ideographs fold to themselves
    return table


class _Powers:
    """Powers of a base modulo 2**64, grown on demand and shared."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.values: U64 = np.ones(1, dtype=np.uint64)

    def get(self, length: int) -> U64:
        if len(self.values) < length:
            size = max(length, 2 * len(self.values))
            steps = np.full(size, self.base, dtype=np.uint64)
            steps[0] = 1
            self.values = np.cumprod(steps, dtype=np.uint64)
        return self.values[:length]


P_POW, P_INV_POW = _Powers(_P), _Powers(_P_INV)


def mix(values: U64) -> U64:
    """xor-shift, multiply, xor-shift, in place: the high bits of a polynomial
    hash, which depend on every character, reach the low ones too."""
    values ^= values >> np.uint64(32)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(29)
    return values


@dataclass(frozen=True)
class TokenBatch:
    """Tokens of several folded texts joined by newlines.

    `starts`/`ends` are token positions in the joined text; `text_starts[i]` is
    where text i begins in it and `token_starts[i]` its first token (both with
    a final entry one past the end).
    """

    starts: I64
    ends: I64
    hashes: U64
    text_starts: I64
    token_starts: I64


def _lookup(joined: str) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_] | None, U64]:
    """Per character: is it inside a token, is it a token alone, its folded code.

    ASCII is classified and lower-cased with arithmetic (a table gather costs
    ten times more); only the other characters go through the code-point
    table. Raises `_Multi` when a character folds to several (ß → ss), which
    the caller resolves with `str.casefold`.
    """
    ascii_only = joined.isascii()
    raw: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
    if ascii_only:
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:  # UTF-16 halves the work unless there are surrogate pairs
        raw = np.frombuffer(joined.encode("utf-16-le"), dtype=np.uint16)
        if np.any((raw - np.uint16(0xD800)) < 0x800):
            raw = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    upper = (raw - raw.dtype.type(65)) < 26
    word = upper | ((raw - raw.dtype.type(97)) < 26) | ((raw - raw.dtype.type(48)) < 10)
    values = raw.astype(np.uint64)
    np.add(values, np.uint64(32), out=values, where=upper)
    if ascii_only:
        return word, None, values
    wide = np.flatnonzero(raw >= 128)
    codes = char_table()[raw[wide]]
    classes = codes >> np.uint32(24)
    if np.any(classes == MULTI):
        raise _Multi
    word[wide] = classes != SEP
    values[wide] = codes & np.uint32(_CP_MASK)
    if not np.any(classes == SINGLE):
        return word, None, values
    single = np.zeros(len(raw), dtype=bool)
    single[wide[classes == SINGLE]] = True
    return word, single, values


class _Multi(Exception):
    """A batch holds characters the table cannot fold one to one."""


def tokenise(texts: list[str]) -> tuple[list[str], TokenBatch]:
    """Fold `texts` and hash every token; also return each text's working form
    (NFKC, perhaps case-folded), whose positions the token offsets refer to.

    The texts are joined behind a leading newline, so no token starts at 0.
    """
    working = [t if t.isascii() else unicodedata.normalize("NFKC", t) for t in texts]
    try:
        word, single, values = _lookup("\n" + "\n".join(working))
    except _Multi:
        working = [t if t.isascii() else t.casefold() for t in working]
        word, single, values = _lookup("\n" + "\n".join(working))
    edge = np.empty(len(word) + 1, dtype=bool)  # a run of word or non-word starts at k
    edge[0] = edge[-1] = True
    np.not_equal(word[1:], word[:-1], out=edge[1:-1])
    if single is None:  # runs alternate, non-word first (the leading newline)
        bounds = np.flatnonzero(edge)
        starts, ends = bounds[1:-1:2], bounds[2::2]
    else:  # each such character is a token of its own
        edge[:-1] |= single
        edge[1:] |= single
        starts = np.flatnonzero(edge[:-1] & word)
        ends = np.flatnonzero(edge[1:] & word) + 1
    values *= P_INV_POW.get(len(values))
    np.cumsum(values, out=values)
    hashes = mix((values[ends - 1] - values[starts - 1]) * P_POW.get(len(values))[ends - 1])
    text_starts = np.ones(len(working) + 1, dtype=np.int64)
    lengths = np.fromiter((len(t) + 1 for t in working), dtype=np.int64, count=len(working))
    np.cumsum(lengths, out=text_starts[1:])
    text_starts[1:] += 1
    token_starts = np.searchsorted(starts, text_starts).astype(np.int64)
    return working, TokenBatch(starts, ends, hashes, text_starts, token_starts)


def _segments(text: str) -> list[tuple[int, int]]:
    """Spans of a starter and the combining characters after it: the units
    that normalisation maps independently."""
    spans: list[tuple[int, int]] = []
    for i, char in enumerate(text):
        code = ord(char)
        joins = unicodedata.combining(char) or unicodedata.category(char).startswith("M")
        if spans and (joins or 0x1160 <= code <= 0x11FF):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def offset_map(original: str, working: str) -> tuple[I64, I64]:
    """For each position of `working`: the original span its character came from.

    A span [a, b) of `working` is [starts[a], ends[b - 1]) of `original`.
    Exact when normalising segment by segment reproduces `working` (always so
    in practice); otherwise positions are scaled, an approximation.
    """
    if original == working or original.isascii():
        positions = np.arange(len(working), dtype=np.int64)
        return positions, positions + 1
    segments = _segments(original)
    for casefold in (False, True):
        starts: list[int] = []
        ends: list[int] = []
        pieces: list[str] = []
        for a, b in segments:
            piece = unicodedata.normalize("NFKC", original[a:b])
            piece = piece.casefold() if casefold else piece
            pieces.append(piece)
            starts.extend([a] * len(piece))
            ends.extend([b] * len(piece))
        if "".join(pieces) == working:
            return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    scale = len(original) / max(len(working), 1)
    scaled = np.floor(np.arange(len(working) + 1) * scale).astype(np.int64)
    return scaled[:-1], np.maximum(scaled[1:], scaled[:-1] + 1)
