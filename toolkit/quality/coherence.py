"""Semantic coherence of one document, from its sentences' embeddings (bundled MiniLM).

Three measures, all over sentences of at least `coherence_min_words` words
(shorter ones, "Fine." or "Not green.", embed as noise):

- `incoherent_sentences`: the share of sentences that nothing else in the
  document is about. A sentence's support is the mean cosine to its 3 closest
  other sentences; below `coherence_floor` it is counted. Sentences spliced in
  from other documents land here, while a coherent text's sentences each have
  a few neighbours on the same subject, wherever they sit. Measured on the
  benchmark's documents (`python -m bench quality_coherence`) this separates
  spliced documents from coherent ones far better than the mean cosine of
  adjacent sentences, whose level varies more between coherent documents
  than a few spliced sentences move it. Null below 4 such sentences.
- `sentence_coherence`: the mean cosine of adjacent sentences in a paragraph,
  the local flow (null without such a pair).
- `paragraph_coherence`: the mean cosine of adjacent paragraphs, each the
  normalised mean of its sentences' vectors (null below 2 paragraphs).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from toolkit.quality.catalog import Scores
from toolkit.quality.segments import Sentence

__all__ = ["NEIGHBOURS", "centroid", "coherence"]

F32 = npt.NDArray[np.float32]
#: How many of its closest sentences a sentence's support averages.
NEIGHBOURS = 3
_MIN_UNITS = NEIGHBOURS + 1


def centroid(vectors: F32) -> F32 | None:
    """The normalised mean of `vectors` (None for none, or a zero mean)."""
    if not len(vectors):
        return None
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return None if norm == 0 else (mean / norm).astype(np.float32)


def _support(units: F32) -> F32:
    grams = units @ units.T
    np.fill_diagonal(grams, -np.inf)
    k = min(NEIGHBOURS, len(units) - 1)
    closest = np.sort(grams, axis=1)[:, -k:]
    support: F32 = closest.mean(axis=1)
    return support


def coherence(
    sentences: Sequence[Sentence],
    vectors: F32,
    *,
    min_words: int,
    floor: float,
) -> Scores:
    """The three measures of one document; `vectors[i]` embeds `sentences[i]`."""
    units = [i for i, s in enumerate(sentences) if s.words >= min_words]
    scores: Scores = dict.fromkeys(
        ("incoherent_sentences", "sentence_coherence", "paragraph_coherence")
    )
    if not units:
        return scores
    unit_vectors = vectors[units]
    if len(units) >= _MIN_UNITS:
        support = _support(unit_vectors)
        scores["incoherent_sentences"] = round(float((support < floor).mean()), 6)
    pairs = [
        float(vectors[a] @ vectors[b])
        for a, b in pairwise(units)
        if sentences[a].paragraph == sentences[b].paragraph
    ]
    if pairs:
        scores["sentence_coherence"] = round(float(np.mean(pairs)), 6)
    paragraphs = sorted({sentences[i].paragraph for i in units})
    means = [
        centroid(vectors[[i for i in units if sentences[i].paragraph == p]]) for p in paragraphs
    ]
    steps = [float(a @ b) for a, b in pairwise(means) if a is not None and b is not None]
    if steps:
        scores["paragraph_coherence"] = round(float(np.mean(steps)), 6)
    return scores
