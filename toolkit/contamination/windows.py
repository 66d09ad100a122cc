"""Sentences, and the windows of them that the semantic stage embeds.

A regex sentencizer, not a model: it must be fast, deterministic and keep
exact character offsets. A sentence ends at `.`, `!`, `?` or `…` (with any
closing quotes or brackets) before whitespace, at CJK full stops, or at a line
break, so list items and multiple-choice options are sentences of their own.

Windows are sized to the eval items: runs of 1, 2 and 3 sentences, plus runs
of s - 1, s and s + 1 sentences for an item of s sentences (a multiple-choice
question is a dozen lines), plus clauses, since a one-line item paraphrased
in a story is often part of a sentence ("Put another way: ..."): the pieces of
a sentence between `:`, `;`, `,` and dashes, and runs of them that start or end
the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "WINDOW_SIZES",
    "passages",
    "sentences",
    "window_sizes",
    "windows",
    "windows_around",
]

WINDOW_SIZES = (1, 2, 3)
MAX_SENTENCES = 24  # the longest run of sentences a window holds
MAX_WINDOW_CHARS = 2000
_CLOSERS = "\"')]\u00bb\u201d\u2019"  # quotes and brackets that may follow a full stop
_END = re.compile(
    rf"[.!?\u2026]+[{re.escape(_CLOSERS)}]*(?=\s|$)"  # . ! ? … before whitespace
    r"|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019]*"  # CJK full stop, ! and ?: no space
    r"|\n"
)
_WORD = re.compile(r"\w+")
_CLAUSE = re.compile(r"\s*(?:[:;,]|\s[-\u2013\u2014]+|[\u2013\u2014])\s+")


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_END.finditer(text), None]:
        end = len(text) if match is None else match.end()
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        start = end
    return spans


def window_sizes(texts: Iterable[str]) -> tuple[int, ...]:
    """Sentence counts of windows for items `texts`: 1-3, and s - 1..s + 1
    for each item of s sentences (up to `MAX_SENTENCES`)."""
    sizes = set(WINDOW_SIZES)
    for text in texts:
        count = len(sentences(text))
        sizes.update(range(max(count - 1, 1), min(count + 1, MAX_SENTENCES) + 1))
    return tuple(sorted(sizes))


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of the sentence text[start:end] between clause marks, and the
    runs of them that begin or end it (never the whole sentence)."""
    cuts = [(m.start(), m.end()) for m in _CLAUSE.finditer(text, start, end)]
    if not cuts:
        return []
    starts = [start, *(b for _, b in cuts)]
    ends = [*(a for a, _ in cuts), end]
    spans = {(starts[i], ends[i]) for i in range(len(starts))}
    spans.update((start, ends[i]) for i in range(len(ends) - 1))
    spans.update((starts[i], end) for i in range(1, len(starts)))
    return sorted(span for span in spans if span[0] < span[1])


def windows(
    text: str, *, min_words: int = 5, sizes: Sequence[int] = WINDOW_SIZES, clauses: bool = True
) -> list[tuple[int, int]]:
    """Distinct spans of `sizes` consecutive sentences, and (with `clauses`)
    the clauses of each sentence, with at least `min_words` words (a lone
    "Yes." would match anything short)."""
    sents = sentences(text)
    spans: dict[tuple[int, int], None] = {}
    for size in sizes:
        for i in range(len(sents) - size + 1):
            span = (sents[i][0], sents[i + size - 1][1])
            if size > 1 and span[1] - span[0] > MAX_WINDOW_CHARS:
                continue
            if len(_WORD.findall(text, span[0], span[1])) >= min_words:
                spans[span] = None
    if clauses:
        for a, b in sents:
            for span in _clauses(text, a, b):
                if span not in spans and len(_WORD.findall(text, *span)) >= min_words:
                    spans[span] = None
    return list(spans)


def windows_around(
    text: str,
    sents: Sequence[tuple[int, int]],
    center: int,
    *,
    sizes: Sequence[int] = WINDOW_SIZES,
    min_words: int = 5,
) -> list[tuple[int, int]]:
    """The windows of `windows` that hold sentence `center` of `sents` (the
    sentences of `text`): runs of each size through it, and its clauses. Where
    a unit's best sentence is known, these are the only windows worth reading."""
    spans: dict[tuple[int, int], None] = {}
    for size in sizes:
        for first in range(max(0, center - size + 1), min(center, len(sents) - size) + 1):
            span = (sents[first][0], sents[first + size - 1][1])
            if size > 1 and span[1] - span[0] > MAX_WINDOW_CHARS:
                continue
            if len(_WORD.findall(text, span[0], span[1])) >= min_words:
                spans[span] = None
    for span in _clauses(text, *sents[center]):
        if span not in spans and len(_WORD.findall(text, *span)) >= min_words:
            spans[span] = None
    return list(spans)


def passages(text: str, *, words: int = 200, stride: int = 160) -> list[tuple[int, int]]:
    """Spans of `words`-word passages after the first `stride` words.

    The model reads only about the first 200 words of a text, so a long
    document's own vector says nothing about its tail; these passages cover
    the tail. A text of at most `words` words has none. (Sentence-level
    passages for every document were tried: on the benchmark they cost 1.5-2x
    the embeddings for no gain in recall over document vectors plus the
    n-gram candidates.)
    """
    found = list(_WORD.finditer(text))
    if len(found) <= words:
        return []
    spans = []
    for first in range(stride, len(found), stride):
        last = min(first + words, len(found)) - 1
        spans.append((found[first].start(), found[last].end()))
        if last == len(found) - 1:
            break
    return spans
