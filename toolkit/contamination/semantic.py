"""Steps 2 and 3 of the semantic stage: locate each unit's best windows, then verify.

Retrieval (`toolkit.contamination.retrieval`) gives each semantic unit (an
item's stem, or the whole item where it has none) its candidate documents:
its top-k, and documents with an n-gram hit on its own item. A second pass
reads only those. In each, the unit's best sentence by static vectors anchors
the windows that hold it, sized to the unit (`windows.windows_around`); the
best window per document by static cosine, at about the unit's length,
stands for it, and the unit's `verify_k` best window texts go on, each with
its document's best sentence alone. MiniLM embeds each of those once,
however many units chose it (cached by text hash), and the better of each
pair stays. Every unit's windows are then candidates for the offline
verifier (`toolkit.contamination.verifier`) and the LLM judge, whatever
their cosine; the caller decides which become hits.

Every unit's candidates, nearest cosine and closest documents depend on that
unit and the corpus alone, never on the other units or eval sets in the run:
all scores are per unit against its own candidate documents. The work here is
bounded by units x k documents, whatever the corpus size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolkit.contamination.retrieval import WORDS, DocKey, Retrieval, token_lengths
from toolkit.contamination.windows import sentences, windows_around
from toolkit.document import Document
from toolkit.embeddings import embed_uncached

__all__ = ["Candidate", "DocKey", "SemanticCheck"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_CHUNK_DOCS = 256  # candidate documents whose sentences are embedded in one call
_PAIRS = 1 << 16  # (unit, window) dot products computed at once
_LENGTH_COST = 0.3


@dataclass(frozen=True, slots=True)
class Candidate:
    """Unit `row`'s best window `span` in document `doc`: MiniLM and static cosines."""

    row: int
    doc: DocKey
    span: tuple[int, int]
    text: str
    cosine: float
    static: float


class SemanticCheck(Retrieval):
    """Retrieval (`add`, `candidates`), then `locate` and `closest`."""

    def locate(
        self, docs: Iterable[tuple[str, Document]]
    ) -> tuple[list[Candidate], dict[DocKey, str]]:
        """Read the candidate documents; return every unit's `verify_k` best windows
        (one per document, strongest MiniLM cosine first) and the texts of the
        documents they are in."""
        window_ids: dict[str, int] = {}
        # row, doc index, start, end, window, whether the window is the best sentence alone
        pairs: list[tuple[int, int, int, int, int, int]] = []
        kept: dict[DocKey, str] = {}
        chunk: list[tuple[DocKey, Document]] = []
        for source, doc in docs:
            key = (source, doc.id)
            if key in self._rows_of and key not in kept:
                kept[key] = doc.text
                chunk.append((key, doc))
            if len(chunk) >= _CHUNK_DOCS:
                self._windows(chunk, window_ids, pairs)
                chunk = []
        if chunk:
            self._windows(chunk, window_ids, pairs)
        self.stats["read"] = len(kept)
        self.stats["windows"] = len(window_ids)
        if not pairs:
            return [], {}
        chosen = self._prefilter(np.asarray(pairs, dtype=np.int64), list(window_ids))
        found = self._score(chosen, list(window_ids))
        return found, {c.doc: kept[c.doc] for c in found}

    def _windows(
        self,
        chunk: list[tuple[DocKey, Document]],
        window_ids: dict[str, int],
        pairs: list[tuple[int, int, int, int, int, int]],
    ) -> None:
        """Each unit's windows in these documents: those holding its best sentence
        (the last column flags the sentence alone)."""
        sents = [sentences(doc.text) for _, doc in chunk]
        texts = [
            doc.text[a:b] for (_, doc), spans in zip(chunk, sents, strict=True) for a, b in spans
        ]
        vectors = embed_uncached(self.static.embedder, texts, self.static.model_name)
        start = 0
        for (key, doc), spans in zip(chunk, sents, strict=True):
            if not spans:
                continue
            rows = self._rows_of[key]
            block = self.static_vectors[rows] @ vectors[start : start + len(spans)].T
            start += len(spans)
            d = self._doc_index[key]
            around: dict[tuple[int, tuple[int, ...]], list[tuple[int, int]]] = {}
            for row, center in zip(rows, np.argmax(block, axis=1).tolist(), strict=True):
                shape = (center, self.sizes[row])  # units alike share their windows
                if shape not in around:
                    around[shape] = windows_around(
                        doc.text, spans, center, sizes=shape[1], min_words=self.min_words
                    )
                for a, b in around[shape]:
                    wid = window_ids.setdefault(doc.text[a:b], len(window_ids))
                    pairs.append((row, d, a, b, wid, int((a, b) == spans[center])))

    def _prefilter(self, pairs: I64, texts: list[str]) -> I64:
        """The best window per (unit, document) by static cosine, then each unit's
        `verify_k` best window texts, each with its document's best sentence
        alone: the only windows MiniLM reads (`_score` keeps the better of two).

        A static vector is an average: it barely notices a sentence of other
        matter around a copy, which MiniLM then reads diluted (0.59 falls to
        0.39 with one unrelated sentence beside it). So the window is chosen at
        about the unit's length: one more than twice as long, or less than
        half, ranks below every window near it in length, and within that band
        a window loses `_LENGTH_COST` per unit of |log length ratio|; and the
        best sentence alone is read too."""
        vectors = embed_uncached(self.static.embedder, texts, self.static.model_name)
        scores = _dots(self.static_vectors, pairs[:, 0], vectors, pairs[:, 4])
        lengths = np.fromiter((len(WORDS.findall(t)) for t in texts), np.float64, len(texts))
        ratio = np.abs(np.log(np.maximum(lengths[pairs[:, 4]], 1) / self.lengths[pairs[:, 0]]))
        fit = scores - _LENGTH_COST * ratio - (ratio > np.log(2)).astype(np.float32)
        all_pairs, all_scores = pairs, scores
        order = np.lexsort((pairs[:, 2], pairs[:, 3], -fit, pairs[:, 1], pairs[:, 0]))
        pairs, scores = pairs[order], scores[order]
        head = np.r_[True, (np.diff(pairs[:, 0]) != 0) | (np.diff(pairs[:, 1]) != 0)]
        pairs, scores = pairs[head], scores[head]
        # rank the distinct window texts of each unit; a text in several documents
        # keeps them all, so a copy repeated in many documents is found in each
        order = np.lexsort((pairs[:, 1], pairs[:, 4], -scores, pairs[:, 0]))
        pairs, scores = pairs[order], scores[order]
        fresh = np.r_[True, (np.diff(pairs[:, 0]) != 0) | (np.diff(pairs[:, 4]) != 0)]
        text_rank = np.cumsum(fresh) - 1
        unit_start = np.r_[True, np.diff(pairs[:, 0]) != 0]
        first_rank = np.maximum.accumulate(np.where(unit_start, text_rank, 0))
        keep = text_rank - first_rank < self.verify_k
        chosen, chosen_scores = pairs[keep], scores[keep]
        span = len(self.doc_keys) + 1  # (unit, document) as one number
        keys = chosen[:, 0] * span + chosen[:, 1]
        order = np.argsort(keys, kind="stable")
        center = np.flatnonzero(all_pairs[:, 5] == 1)
        at = np.searchsorted(keys[order], all_pairs[center, 0] * span + all_pairs[center, 1])
        at = np.minimum(at, len(keys) - 1)
        same = keys[order][at] == all_pairs[center, 0] * span + all_pairs[center, 1]
        other = chosen[order][at, 4] != all_pairs[center, 4]
        extra = center[same & other]
        self._static_scores = np.concatenate([chosen_scores, all_scores[extra]])
        out: I64 = np.concatenate([chosen, all_pairs[extra]])
        return out

    def _score(self, pairs: I64, texts: list[str]) -> list[Candidate]:
        wanted = np.unique(pairs[:, 4])
        self.stats["verified"] = len(wanted)
        vectors = self.cache.get_or_embed(
            None, [texts[w] for w in wanted.tolist()], lengths=token_lengths(self.cache)
        )
        cosines = _dots(self.vectors, pairs[:, 0], vectors, np.searchsorted(wanted, pairs[:, 4]))
        order = np.lexsort((np.arange(len(pairs)), -cosines, pairs[:, 1], pairs[:, 0]))
        best = order[np.r_[True, (np.diff(pairs[order, 0]) != 0) | (np.diff(pairs[order, 1]) != 0)]]
        order = best[np.lexsort((pairs[best, 1], -cosines[best], pairs[best, 0]))]
        found = []
        for i in order.tolist():
            row, d, a, b, w, _ = pairs[i].tolist()
            key, score = self.doc_keys[d], float(cosines[i])
            static = float(self._static_scores[i])
            found.append(Candidate(row, key, (a, b), texts[w], score, static))
            self.nearest[row] = max(self.nearest[row], score)
            self.window_docs[row][key] = max(score, self.window_docs[row].get(key, -np.inf))
        return found

    def closest(self, rows: Sequence[int], limit: int = 5) -> list[tuple[DocKey, float]]:
        """The documents nearest to any of the given units (by MiniLM window)."""
        found: dict[DocKey, float] = {}
        for row in rows:
            for key, score in self.window_docs[row].items():
                found[key] = max(score, found.get(key, -np.inf))
        ranked = sorted(found.items(), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:limit]


def _dots(left: F32, rows: I64, right: F32, columns: I64) -> npt.NDArray[np.float32]:
    """left[rows[i]] . right[columns[i]] for every i, in bounded blocks."""
    out = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), _PAIRS):
        stop = start + _PAIRS
        out[start:stop] = np.einsum("ij,ij->i", left[rows[start:stop]], right[columns[start:stop]])
    return out
