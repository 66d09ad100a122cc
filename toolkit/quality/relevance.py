"""Relevance: each quotation to the text around it, and the document to its principle.

- `quote_relevance`: for every quotation of `quote_min_words` words or more
  (dialogue and quoted principle text alike), the mean of three parts: its
  embedding cosine to the sentences of its own and the neighbouring
  paragraphs, its cosine to the rest of the document (both as normalised
  means of those sentences' vectors, the quotation's own sentences left
  out), and the share of its content words (no stop words, compared as
  5-letter prefixes) that the text outside it uses. A quotation swapped in
  from elsewhere is far from its surroundings and brings words the
  document never uses. The document's value is its least relevant quotation.
- `principle_rank` (topic drift): how many uncited principles are closer to
  the document (the normalised mean of its sentence vectors of
  `coherence_min_words` words or more, so all of it counts, not the 256 word
  pieces MiniLM reads of one text) than its closest cited principle. A
  sentence-by-sentence version (the share of sentences another principle
  fits better) was tried and dropped: generic sentences fit a constitution's
  introductions as well as their own principle, so it hardly separated
  spliced documents from coherent ones on the benchmark.

A cited id names a principle, or a section whose principles all count.
Principles are read as `id`, `title` and `body` only, and embedded once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from toolkit.constitution.model import Constitution
from toolkit.quality.coherence import centroid
from toolkit.quality.segments import Quote, Sentence

__all__ = ["Principles", "quote_relevance"]

F32 = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], F32]
_CONTENT = re.compile(r"[a-z][a-z'\u2019]{3,}")
_STEM = 5


@functools.cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _stems(text: str) -> set[str]:
    stop = _stop_words()
    return {w[:_STEM] for w in _CONTENT.findall(text.lower()) if w not in stop}


def _overlaps(sentence: Sentence, quote: Quote) -> bool:
    return sentence.start < quote.end and quote.start < sentence.end


def quote_relevance(
    text: str,
    sentences: Sequence[Sentence],
    vectors: F32,
    quotes: Sequence[Quote],
    quote_vectors: F32,
) -> float | None:
    """The least relevant quotation's relevance (None without a quotation to judge)."""
    worst: float | None = None
    for quote, vector in zip(quotes, quote_vectors, strict=True):
        outside = [i for i, s in enumerate(sentences) if not _overlaps(s, quote)]
        near = [i for i in outside if abs(sentences[i].paragraph - quote.paragraph) <= 1]
        rest, around = centroid(vectors[outside]), centroid(vectors[near])
        if rest is None:
            continue
        local = float(vector @ (around if around is not None else rest))
        whole = float(vector @ rest)
        own = _stems(quote.text)
        others = _stems(text[: quote.start] + " " + text[quote.end :])
        lexical = len(own & others) / len(own) if own else 1.0
        value = (local + whole + lexical) / 3
        worst = value if worst is None else min(worst, value)
    return None if worst is None else round(worst, 6)


class Principles:
    """The constitution's principles as vectors, for `principle_rank`."""

    def __init__(self, constitution: Constitution, embed: Embed) -> None:
        units = list(constitution.principles())
        self.ids = [unit.id for unit in units]
        self._texts = [f"{unit.title}\n\n{unit.body}" for unit in units]
        self._embed = embed
        self._vectors: F32 | None = None

    def cited(self, ids: Sequence[str]) -> list[int]:
        """Indices of the principles `ids` name (a section names all its principles)."""
        return [
            i
            for i, pid in enumerate(self.ids)
            if any(pid == c or pid.startswith(f"{c}/") for c in ids)
        ]

    @property
    def vectors(self) -> F32:
        if self._vectors is None:
            self._vectors = self._embed(self._texts)
        return self._vectors

    def rank(self, units: F32, cited: Sequence[int]) -> int | None:
        """`principle_rank` of a document whose sentences of enough words embed as
        `units`; None without units, or when it cites no principle (or every one)."""
        whole = centroid(units)
        if whole is None or not cited or len(cited) == len(self.ids):
            return None
        closeness = self.vectors @ whole
        others = np.ones(len(self.ids), dtype=bool)
        others[list(cited)] = False
        return int((closeness[others] > closeness[list(cited)].max()).sum())
