"""Grounding: does an explainer address the principles it claims to explain?

Two measures, each the worst over the claimed principles (every claimed one
must be addressed, so one well-explained principle cannot hide an ignored one):

- lexical: the share of a principle's key words that the document uses. Key
  words are the principle's `top_words` most frequent content words (stop
  words dropped, ties broken alphabetically), compared as 5-letter prefixes so
  "honest", "honestly" and "honesty" meet. Cheap and explainable.
- cosine: embedding similarity between the document and the principle text,
  with the bundled MiniLM. Principle texts are embedded once per run. MiniLM
  reads about the first 250 word pieces of each text, so a long explainer is
  judged on its opening, where it should state what it explains.

A claimed id may name a principle or a whole section (its text is then the
section with everything below it). Ids the constitution lacks are counted.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from toolkit.constitution.model import Constitution
from toolkit.embeddings import embed

__all__ = ["Grounder", "key_stems"]

_WORD = re.compile(r"[a-z]{3,}")
_STEM = 5


@functools.cache
def _stop_words() -> frozenset[str]:
    """spaCy's English stop words, loaded on first use: importing spaCy costs seconds."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _stems(text: str) -> list[str]:
    stop = _stop_words()
    return [w[:_STEM] for w in _WORD.findall(text.lower()) if w not in stop]


def key_stems(text: str, top_words: int) -> frozenset[str]:
    """The `top_words` most frequent content-word stems of `text`."""
    counts = Counter(_stems(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return frozenset(stem for stem, _ in ranked[:top_words])


def _principle_texts(constitution: Constitution) -> dict[str, str]:
    """Title and text of every principle, context unit and section a document may cite."""
    texts: dict[str, str] = {}
    for node_id in [unit.id for unit in constitution.units()] + [
        node.id for node in constitution.nodes()
    ]:
        found = constitution.resolve(node_id)
        if found is not None and node_id not in texts:
            texts[node_id] = f"{found[0]}\n\n{found[1]}"
    return texts


class Grounder:
    """Scores explainers against one constitution; caches per-principle work."""

    def __init__(
        self, constitution: Constitution, *, top_words: int = 40, embeddings: bool = True
    ) -> None:
        self.embeddings = embeddings
        self._texts = _principle_texts(constitution)
        self._top_words = top_words
        self._keys: dict[str, frozenset[str]] = {}
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}

    def known(self, ids: Sequence[str]) -> list[str]:
        return [i for i in ids if i in self._texts]

    def lexical(self, text: str, ids: Sequence[str]) -> float | None:
        """Worst share of key stems used, over the known ids; None when none is known."""
        known = self.known(ids)
        if not known:
            return None
        present = set(_stems(text))
        worst = 1.0
        for principle in known:
            keys = self._keys.get(principle)
            if keys is None:
                keys = self._keys[principle] = key_stems(self._texts[principle], self._top_words)
            if keys:
                worst = min(worst, len(keys & present) / len(keys))
        return worst

    def cosines(self, texts: Sequence[str], ids: Sequence[Sequence[str]]) -> list[float | None]:
        """Worst cosine to the known claimed principles, per text (one embedding batch)."""
        if not self.embeddings:
            return [None] * len(texts)
        wanted = [i for i, claimed in enumerate(ids) if self.known(claimed)]
        if not wanted:
            return [None] * len(texts)
        missing = sorted({p for i in wanted for p in self.known(ids[i])} - set(self._vectors))
        if missing:
            for principle, vector in zip(
                missing, embed([self._texts[p] for p in missing]), strict=True
            ):
                self._vectors[principle] = vector
        vectors = embed([texts[i] for i in wanted])
        out: list[float | None] = [None] * len(texts)
        for row, index in enumerate(wanted):
            out[index] = min(
                float(np.dot(vectors[row], self._vectors[p])) for p in self.known(ids[index])
            )
        return out
