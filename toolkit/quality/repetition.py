"""Repetition signals in the manner of the Gopher rules (Rae et al. 2021).

Lines and paragraphs are compared as stripped strings. N-grams are compared as
64-bit rolling hashes of spaCy's lowercase word hashes, built and counted with
numpy over a whole batch of documents at once, so a batch costs a few array
operations per n instead of a Python loop over its words. A repeat means
every occurrence after the first, as in the Gopher rules, and characters are
word characters, so overlapping repeats are counted once.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from toolkit.quality.catalog import NGRAM_DUP, NGRAM_TOP, Scores

__all__ = ["block_repetition", "ngram_repetition"]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_MULTIPLIER = np.uint64(1_099_511_628_211)  # the 64-bit FNV prime: odd, well mixed
_DOC_MIX = np.uint64(0x9E3779B97F4A7C15)  # keeps equal n-grams of two documents apart

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def _duplicates(items: list[str]) -> tuple[float, float]:
    """(share of items repeating an earlier one, share of their characters)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_items = dup_chars = total = 0
    for item in items:
        total += len(item)
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return dup_items / len(items), dup_chars / total if total else 0.0


def block_repetition(text: str) -> Scores:
    """Duplicate line and paragraph fractions, by count and by characters."""
    lines = [line for line in (raw.strip() for raw in text.splitlines()) if line]
    paragraphs = [p for p in (raw.strip() for raw in _PARAGRAPH_BREAK.split(text)) if p]
    line_frac, line_chars = _duplicates(lines)
    para_frac, para_chars = _duplicates(paragraphs)
    return {
        "dup_line_fraction": line_frac,
        "dup_line_char_fraction": line_chars,
        "dup_paragraph_fraction": para_frac,
        "dup_paragraph_char_fraction": para_chars,
    }


def _segment_max(values: I64, segment: I64, n_docs: int) -> I64:
    """The largest of `values` per document; `segment` (doc ids) is ascending."""
    out = np.zeros(n_docs, dtype=np.int64)
    if values.size:
        heads = np.flatnonzero(np.concatenate(([True], segment[1:] != segment[:-1])))
        out[segment[heads]] = np.maximum.reduceat(values, heads)
    return out


def ngram_repetition(
    word_hashes: U64, word_lengths: I64, word_doc: I64, n_docs: int
) -> dict[str, F64]:
    """Top 2- to 4-gram coverage and duplicated 5- to 10-gram character fractions.

    The words of a batch of documents come concatenated: `word_hashes[i]`
    identifies word i (case folded), `word_lengths[i]` is its length in
    characters and `word_doc[i]` (ascending) its document. Returns one array
    of `n_docs` fractions per signal. N-grams are keyed by hash and document,
    so repeats are counted within a document only. An (n+1)-gram can only
    repeat where the two n-grams inside it repeat, so each n past 2 looks only
    at those positions: on ordinary prose they dwindle to none within a few steps.
    """
    out = {f"top_{n}gram_fraction": np.zeros(n_docs) for n in NGRAM_TOP}
    out.update({f"dup_{n}gram_fraction": np.zeros(n_docs) for n in NGRAM_DUP})
    total = np.bincount(word_doc, weights=word_lengths, minlength=n_docs)
    safe_total = np.maximum(total, 1)
    bounds = np.concatenate(([0], np.cumsum(word_lengths)))
    doc_key = word_doc.astype(np.uint64) * _DOC_MIX
    hashes = word_hashes
    # Positions whose (n-1)-gram may repeat; for n = 2, word pairs within one document.
    repeats = np.ones(word_hashes.size, dtype=bool)
    same_doc = np.concatenate((word_doc[1:] == word_doc[:-1], [False]))
    for n in range(2, max(NGRAM_DUP) + 1):
        # hashes[i] now identifies the n-gram starting at word i.
        hashes = hashes[:-1] * _MULTIPLIER + word_hashes[n - 1 :]
        candidates = repeats[:-1] & repeats[1:]
        if n == 2:
            candidates &= same_doc[:-1]
        positions = np.flatnonzero(candidates)
        if positions.size < 2:
            break
        _, first, inverse, counts = np.unique(
            hashes[positions] + doc_key[positions],
            return_index=True,
            return_inverse=True,
            return_counts=True,
        )
        occurrences = counts[inverse.reshape(-1)]
        docs = word_doc[positions]
        if n in NGRAM_TOP:
            top = _segment_max(occurrences, docs, n_docs)
            lengths = bounds[positions + n] - bounds[positions]
            at_top = (occurrences == top[docs]) & (occurrences > 1)
            longest = _segment_max(np.where(at_top, lengths, 0), docs, n_docs)
            out[f"top_{n}gram_fraction"] = np.minimum(1.0, top * longest / safe_total)
        if n in NGRAM_DUP and first.size < positions.size:
            later = np.ones(positions.size, dtype=bool)
            later[first] = False
            covered = _covered(positions[later], n, word_hashes.size)
            chars = np.bincount(word_doc[covered], weights=word_lengths[covered], minlength=n_docs)
            out[f"dup_{n}gram_fraction"] = chars / safe_total
        repeats = np.zeros(hashes.size, dtype=bool)
        repeats[positions[occurrences > 1]] = True
    return out


def _covered(starts: I64, n: int, size: int) -> Bools:
    """Which of `size` words lie inside any of the n-grams starting at `starts`."""
    edges = np.zeros(size + 1, dtype=np.int64)
    edges[starts] += 1
    edges[starts + n] -= 1
    covered: Bools = np.cumsum(edges[:-1]) > 0
    return covered
