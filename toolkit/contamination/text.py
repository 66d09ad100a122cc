"""Text normalisation and vectorised tokenisation shared by eval items and corpus.

Both sides must tokenise identically, or a verbatim leak slips through. The
rule: NFKC, then full Unicode case folding; a token is a run of letters, digits
and combining marks (punctuation, `_` and whitespace separate tokens), except
that each character of scripts written without spaces (Han, kana, Thai, Lao,
Khmer, Myanmar) is a token of its own.

Speed comes from doing this on code-unit arrays, so no Python code runs per
token: ASCII is classified and lower-cased with byte arithmetic, other
characters with one gather from a code-point table, which also flags the
characters NFKC could change, so only texts holding one are normalised. A
token's hash is built
from its folded characters read eight bytes at a time (two code points at a
time if it has any beyond ASCII) through an unaligned 64-bit view, so the
per-character work stays on bytes. Texts are tokenised in their folded form;
`offsets.offset_map` maps folded positions back to the original text, for
the few documents that have hits.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TokenBatch", "fold", "tokenise"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

SEP, WORD, SINGLE, MULTI = 0, 1, 2, 3  # character classes, kept in bits 24-25 of the table
_CLASS_SHIFT = 24
_UNSTABLE = 1 << 26  # NFKC may change this character, or join it to the one before
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


def fold(text: str) -> str:
    """The normalised form every comparison uses: NFKC, then case folding."""
    return unicodedata.normalize("NFKC", text).casefold()


def _class(char: str) -> int:
    if not (char.isalnum() or unicodedata.category(char).startswith("M")):
        return SEP
    code = ord(char)
    return SINGLE if any(lo <= code <= hi for lo, hi in _SINGLE_RANGES) else WORD


def _unstable(char: str) -> bool:
    """Whether NFKC can change a text at this character: it has a compatibility
    or canonical mapping, or it can combine with the character before (marks,
    Hangul vowel and final jamo). Texts of stable characters are already NFKC."""
    code = ord(char)
    return (
        unicodedata.normalize("NFKC", char) != char
        or unicodedata.combining(char) != 0
        or unicodedata.category(char).startswith("M")
        or 0x1160 <= code <= 0x11FF
    )


@functools.cache
def char_table() -> npt.NDArray[np.uint32]:
    """Per code point: folded code point | class << 24 | unstable flag (built
    once, ~0.2 s)."""
    table = np.arange(0x110000, dtype=np.uint32)  # unlisted planes: separators
    for code in [*range(0x20000), *range(0xE0000, 0xE1000)]:
        char = chr(code)
        folded = char.casefold()
        if len(folded) != 1:
            table[code] = MULTI << _CLASS_SHIFT
        else:
            table[code] = ord(folded) | _class(folded) << _CLASS_SHIFT
        if _unstable(char):
            table[code] |= _UNSTABLE
    table[0x20000:0x40000] |= np.uint32(SINGLE << _CLASS_SHIFT)  # CJK ideographs fold to themselves
    for code in range(0x2F800, 0x2FA20):  # CJK compatibility ideographs: NFKC maps them
        table[code] |= _UNSTABLE
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


def mix(values: U64) -> U64:
    """xor-shift, multiply, xor-shift, in place: a bijection of 64-bit words
    whose every output bit depends on every input bit."""
    scratch = np.right_shift(values, np.uint64(32))
    values ^= scratch
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= np.right_shift(values, np.uint64(29), out=scratch)
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


@dataclass(frozen=True)
class _Folded:
    """Per character of a joined text: inside a token, a token alone (or None
    when no character is), and the folded text as bytes (ASCII; 0x80 stands for
    any other character) and, when some token has a character beyond ASCII, as
    32-bit code points. Both arrays have slack at the end for 64-bit reads."""

    word: npt.NDArray[np.bool_]
    single: npt.NDArray[np.bool_] | None
    bytes: npt.NDArray[np.uint8]
    points: npt.NDArray[np.uint32] | None


_SLACK = 8


def _lookup(joined: str, *, check: bool) -> _Folded:
    """Classify and fold every character of `joined`.

    ASCII is classified and lower-cased with arithmetic (a table gather costs
    ten times more); only the other characters go through the code-point
    table. With `check`, raises `_Unstable` when NFKC could change the text;
    raises `_Multi` when a character folds to several (ß → ss). The caller
    resolves both (`unicodedata.normalize`, `str.casefold`) and tries again.
    """
    raw: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
    size = len(joined)
    out = np.zeros(size + _SLACK, dtype=np.uint8)
    if joined.isascii():
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:  # UTF-16 halves the work unless there are surrogate pairs (then it is longer)
        raw = np.frombuffer(joined.encode("utf-16-le"), dtype=np.uint16)
        if len(raw) != size:
            raw = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    folded = out[:size]
    np.copyto(folded, raw, casting="unsafe")  # low bytes; other characters are fixed below
    scratch = np.subtract(folded, np.uint8(48))
    digit = scratch < 10
    folded |= np.uint8(0x20)  # lower case; it changes only separators besides letters
    word = np.less(np.subtract(folded, np.uint8(97), out=scratch), 26)
    word |= digit
    if raw.dtype == np.uint8:
        return _Folded(word, None, out, None)
    wide = np.flatnonzero(raw >= 128)
    codes = char_table()[raw[wide]]
    if check and np.any(codes & np.uint32(_UNSTABLE)):
        raise _Unstable(wide[(codes & np.uint32(_UNSTABLE)) != 0])
    classes = (codes >> np.uint32(_CLASS_SHIFT)) & np.uint32(3)
    if np.any(classes == MULTI):
        raise _Multi
    codes &= np.uint32(_CP_MASK)
    word[wide] = classes != SEP
    folded[wide] = np.where(codes < 128, codes, 0x80)
    points = None
    if np.any(word[wide] & (codes >= 128)):  # some token reaches beyond ASCII
        points = np.zeros(size + _SLACK, dtype=np.uint32)
        points[:size] = folded
        points[wide] = codes
    single = None
    if np.any(classes == SINGLE):
        single = np.zeros(size, dtype=bool)
        single[wide[classes == SINGLE]] = True
    return _Folded(word, single, out, points)


class _Multi(Exception):
    """A batch holds characters the table cannot fold one to one."""


class _Unstable(Exception):
    """A batch holds characters NFKC may change (at these positions)."""

    def __init__(self, positions: I64) -> None:
        super().__init__(len(positions))
        self.positions = positions


_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [MASK64], dtype=np.uint64)
_WIDE = np.uint64(0x8CB92BA72F3D8DD7)  # tags hashes of tokens beyond ASCII


def _words(data: npt.NDArray[np.uint8] | npt.NDArray[np.uint32]) -> U64:
    """Every 8-byte window of `data` (which ends in slack), one per code unit."""
    unit = data.itemsize
    count = len(data) - _SLACK // unit
    return np.ndarray((count,), dtype="<u8", buffer=data, strides=(unit,))


def _chain(words: U64, starts: I64, lengths: I64, unit: int) -> U64:
    """Hash tokens (`lengths` code units from `starts`; never zero units) word
    by word: mix the first word, then xor each further one in and mix again,
    for the few tokens that have one. Units are non-zero, so the masked words
    also encode the length."""
    per_word = 8 // unit
    hashes = words[starts]
    head = np.minimum(lengths, per_word)
    if unit != 1:
        head *= unit
    hashes &= _KEEP[head]
    mix(hashes)
    more = np.flatnonzero(lengths > per_word)
    offset = per_word
    while len(more):
        left = lengths[more] - offset
        block = words[starts[more] + offset]
        block &= _KEEP[np.minimum(left, per_word) * unit]
        hashes[more] = mix(hashes[more] ^ block)
        more = more[left > per_word]
        offset += per_word
    return hashes


def _token_hashes(folded: _Folded, starts: I64, ends: I64) -> U64:
    """One 64-bit hash per token from its folded characters: ASCII tokens from
    their bytes, tokens with other characters from their code points (tagged
    apart), so a token's hash never depends on the rest of its batch."""
    lengths = ends - starts
    hashes = _chain(_words(folded.bytes), starts, lengths, 1)
    if folded.points is not None:
        high = np.cumsum(folded.bytes[: len(folded.word)] == 0x80, dtype=np.int64)
        high = np.concatenate([np.zeros(1, np.int64), high])
        wide = np.flatnonzero(high[ends] != high[starts])
        hashes[wide] = _chain(_words(folded.points), starts[wide], lengths[wide], 4) ^ _WIDE
    return hashes


def _text_starts(texts: list[str]) -> I64:
    """Where each text begins in "\\n" + "\\n".join(texts), and one past the end."""
    starts = np.ones(len(texts) + 1, dtype=np.int64)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    np.cumsum(lengths, out=starts[1:])
    starts[1:] += np.arange(2, len(texts) + 2)
    return starts


def tokenise(texts: list[str]) -> tuple[list[str], TokenBatch]:
    """Fold `texts` and hash every token; also return each text's working form
    (NFKC, perhaps case-folded), whose positions the token offsets refer to.

    The texts are joined behind a leading newline, so no token starts at 0.
    """
    working = list(texts)
    try:
        folded = _lookup("\n" + "\n".join(working), check=True)
    except (_Unstable, _Multi) as first:
        if isinstance(first, _Unstable):  # normalise only the texts that need it
            where = np.searchsorted(_text_starts(working), first.positions, side="right") - 1
            for i in np.unique(where).tolist():
                working[i] = unicodedata.normalize("NFKC", working[i])
        try:
            folded = _lookup("\n" + "\n".join(working), check=False)
        except _Multi:
            working = [t if t.isascii() else t.casefold() for t in working]
            folded = _lookup("\n" + "\n".join(working), check=False)
    word, single = folded.word, folded.single
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
    hashes = _token_hashes(folded, starts, ends)
    text_starts = _text_starts(working)
    token_starts = np.searchsorted(starts, text_starts).astype(np.int64)
    return working, TokenBatch(starts, ends, hashes, text_starts, token_starts)
