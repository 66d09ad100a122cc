"""A document cut into paragraphs, sentences and quotations, by character offsets.

Sentences are spaCy's (the sentencizer's boundaries, read from the scorer's
token arrays) further cut at paragraph breaks (a blank line), since a heading
or a dialogue line without a full stop would otherwise run into the next
paragraph. A sentence's `text` drops Markdown line markers (`#`, `-`, `1.`,
`>`, `**`) and a leading speaker label (`User:`, `Q:`), which say nothing
about what the sentence means but would make every labelled line alike to
an embedding model. Quotations are spans in double quotes (straight or
curly) within one line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["Quote", "Segments", "Sentence", "quotes", "segment", "words_of"]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_MARKERS = re.compile(r"^(?:\s*(?:#{1,6}|[-*+•>]|\d{1,3}[.)])\s+)*(?:[A-Z][A-Za-z]{0,19}:\s+)?")
_QUOTE = re.compile(r'"([^"\n]+)"|“([^”\n]+)”')


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence: its offsets in the text, paragraph, cleaned text and word count."""

    start: int
    end: int
    paragraph: int
    text: str
    words: int


@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation of `words` words: the quoted text and its span (inside the marks)."""

    start: int
    end: int
    paragraph: int
    text: str
    words: int


@dataclass(frozen=True, slots=True)
class Segments:
    sentences: tuple[Sentence, ...]
    quotes: tuple[Quote, ...]
    paragraphs: int


def _paragraph_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _PARAGRAPH_BREAK.finditer(text))]


def _clean(piece: str) -> str:
    return _MARKERS.sub("", piece.strip()).replace("**", "").strip()


def segment(text: str, sentence_starts: Sequence[int], quote_min_words: int = 6) -> Segments:
    """Cut `text` whose spaCy sentences start at `sentence_starts` (character offsets)."""
    paragraphs = _paragraph_starts(text)
    cuts = sorted({*sentence_starts, *paragraphs, len(text)})
    sentences = []
    for start, end in pairwise(cuts):
        cleaned = _clean(text[start:end])
        words = len(_WORD.findall(cleaned))
        if words:
            paragraph = bisect_right(paragraphs, start) - 1
            sentences.append(Sentence(start, end, paragraph, cleaned, words))
    return Segments(tuple(sentences), quotes(text, quote_min_words, paragraphs), len(paragraphs))


def quotes(text: str, min_words: int, paragraphs: Sequence[int] | None = None) -> tuple[Quote, ...]:
    """The quotations of `min_words` words or more in `text` (`paragraphs`: their starts)."""
    starts = _paragraph_starts(text) if paragraphs is None else paragraphs
    found = []
    for match in _QUOTE.finditer(text):
        group = 1 if match.group(1) is not None else 2
        quoted = match.group(group).strip()
        words = len(_WORD.findall(quoted))
        if words >= min_words:
            start, end = match.span(group)
            paragraph = bisect_right(starts, start) - 1
            found.append(Quote(start, end, paragraph, quoted, words))
    return tuple(found)


def words_of(text: str) -> list[str]:
    """The lower-cased words of `text`, in order."""
    return [w.lower() for w in _WORD.findall(text)]
