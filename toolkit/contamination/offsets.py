"""From positions in a text's working form (NFKC, perhaps case-folded) back to
the original text, for the few documents whose hits need original offsets."""

from __future__ import annotations

import unicodedata

import numpy as np
import numpy.typing as npt

__all__ = ["offset_map"]

I64 = npt.NDArray[np.int64]


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
