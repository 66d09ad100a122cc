"""The embedding signals of a batch: one embedding call, then coherence and relevance.

Sentences and quotations of the whole batch are embedded together, each
distinct text once (generated corpora repeat lines), with the embedder the
scorer was given: by default the bundled MiniLM (`toolkit.embeddings.embed`);
an `EmbeddingCache`'s `get_or_embed` makes a rerun free. Only the signals a
profile reads are computed; sentences of fewer than `_EMBED_MIN_WORDS` words
are not embedded at all (they carry little meaning and count in no measure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.quality.catalog import EMBEDDED, Scores
from toolkit.quality.coherence import coherence
from toolkit.quality.relevance import Principles, quote_relevance
from toolkit.quality.segments import Segments, Sentence
from toolkit.quality.signal_config import SignalConfig

__all__ = ["Embed", "SemanticSignals"]

F32 = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], F32]
_EMBED_MIN_WORDS = 3
_COHERENCE = frozenset({"incoherent_sentences", "sentence_coherence", "paragraph_coherence"})
_DRIFT = frozenset({"principle_rank"})


class SemanticSignals:
    """Computes the `wanted` embedding signals of batches of segmented documents."""

    def __init__(
        self,
        config: SignalConfig,
        wanted: frozenset[str],
        embed: Embed,
        constitution: Constitution | None = None,
    ) -> None:
        self.config = config
        self.wanted = wanted & EMBEDDED
        self.embed = embed
        self.principles = None
        if constitution is not None and self.wanted & _DRIFT:
            self.principles = Principles(constitution, embed)

    def _vectors(self, texts: list[str]) -> dict[str, F32]:
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return {}
        return dict(zip(distinct, self.embed(distinct), strict=True))

    def batch(self, docs: Sequence[Document], segments: Sequence[Segments]) -> list[Scores]:
        """The wanted signals of each document, in order."""
        kept = [[s for s in seg.sentences if s.words >= _EMBED_MIN_WORDS] for seg in segments]
        quoting = "quote_relevance" in self.wanted
        texts = [s.text for sentences in kept for s in sentences]
        if quoting:
            texts += [q.text for seg in segments for q in seg.quotes]
        table = self._vectors(texts)
        width = next(iter(table.values())).shape[0] if table else 1
        out = []
        for doc, seg, sentences in zip(docs, segments, kept, strict=True):
            vectors = np.array([table[s.text] for s in sentences], dtype=np.float32)
            vectors = vectors.reshape(len(sentences), width)
            scores: Scores = dict.fromkeys(sorted(self.wanted))
            if self.wanted & _COHERENCE:
                found = coherence(
                    sentences,
                    vectors,
                    min_words=self.config.coherence_min_words,
                    floor=self.config.coherence_floor,
                )
                scores.update({k: v for k, v in found.items() if k in self.wanted})
            if quoting and seg.quotes and sentences:
                quote_vectors = np.array([table[q.text] for q in seg.quotes], dtype=np.float32)
                scores["quote_relevance"] = quote_relevance(
                    doc.text, sentences, vectors, seg.quotes, quote_vectors
                )
            if self.principles is not None and "principle_rank" in self.wanted:
                scores.update(self._drift(doc, sentences, vectors))
            out.append(scores)
        return out

    def _drift(self, doc: Document, sentences: Sequence[Sentence], vectors: F32) -> Scores:
        assert self.principles is not None
        least = self.config.coherence_min_words
        units = vectors[[i for i, s in enumerate(sentences) if s.words >= least]]
        cited = self.principles.cited(doc.principle_ids)
        return {"principle_rank": self.principles.rank(units, cited)}
