"""Semantic check: paraphrases of eval items, found by embedding similarity.

Embedding every sentence window of a corpus is what makes naive semantic
decontamination slow, so the check runs in two steps:

1. Retrieval, one streaming pass. By default every sentence of five words
   or more gets a static model2vec vector (`toolkit.embeddings.static`,
   distilled from MiniLM, a hundred times cheaper), embedded on the fly and
   not cached: a short item paraphrased in a long document barely moves the
   document's vector, and the benchmark found sentence vectors ranking
   planted items first where document vectors missed some by a hundred
   places. With `retrieval="minilm"`, documents get the MiniLM vector
   `ccorpus dedup` caches under their ids (a deduplicated corpus costs no new
   embeddings), plus passages over the tail of long ones, since the model
   reads only a text's first ~200 words (`windows.passages`). Per batch,
   exact cosines (L2-normalised vectors, in bounded blocks) score each
   document by its best part, folded into each item's running top-k.
2. Windows, only in candidate documents (some item's top-k, or any document
   with an n-gram hit): windows of sentences and clauses sized to the items
   (`windows.windows`), each distinct text embedded once (cached by text
   hash). With static retrieval, MiniLM reads only each item's `prefilter`
   nearest windows by static vectors.
   FAISS range search finds every (item, window) pair at or above the
   threshold; a top-k search gives each item's nearest windows, hence its
   distance to the corpus and its closest documents, on MiniLM's scale.
   (With MiniLM retrieval, the step-1 document cosines count too.)

Memory and embedding work of step 2 are bounded by items x k documents plus
the n-gram hits, whatever the corpus size; with static retrieval, MiniLM's
work is bounded by items x `prefilter` windows. The price is recall where a
paraphrase is not among its item's k nearest documents (or, with MiniLM
retrieval, is diluted in a long document's vector); raise `top_k` to trade
time for recall. When one item is paraphrased in more than k documents only
the k nearest are examined (the gate still fires; verbatim copies are all
caught by the n-gram stage). Items too short for the n-gram check are
skipped here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import faiss
import numpy as np
import numpy.typing as npt

from toolkit.contamination.evals import EvalItem
from toolkit.contamination.windows import passages, window_sizes, windows
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache, embed_uncached

__all__ = ["DocKey", "SemanticCheck", "WindowHit"]

F32 = npt.NDArray[np.float32]
#: With static retrieval, MiniLM embeds only each item's nearest windows by static
#: vectors, this many of them (0: every window of every candidate).
PREFILTER = 8
DocKey = tuple[str, str]  # (source, document id)
_CELLS = 1 << 24  # item x part scores held at once in step 1 (64 MiB of float32)


@dataclass(frozen=True, slots=True)
class WindowHit:
    """Item `item` is similar to window `span` of document `doc`."""

    doc: DocKey
    item: int
    score: float
    span: tuple[int, int]


class SemanticCheck:
    """Streaming document retrieval, then window search in candidates."""

    def __init__(
        self,
        items: Sequence[EvalItem],
        cache: EmbeddingCache,
        *,
        threshold: float = 0.85,
        top_k: int = 10,
        skip: Iterable[int] = (),
        min_words: int = 5,
        retrieval: EmbeddingCache | None = None,
        prefilter: int = PREFILTER,
    ) -> None:
        self.cache = cache
        self.retrieval = retrieval or cache
        self.threshold = threshold
        self.top_k = top_k
        self.min_words = min_words
        skipped = set(skip)
        self.checked = np.asarray([i for i in range(len(items)) if i not in skipped], np.int64)
        texts = [items[i].text for i in self.checked]
        self.sizes = window_sizes(texts)
        self.vectors: F32 = cache.get_or_embed(None, texts)
        self.query: F32 = self.vectors if retrieval is None else retrieval.get_or_embed(None, texts)
        rows = len(self.checked)
        self.best = np.full((rows, top_k), -np.inf, dtype=np.float32)
        self.best_doc = np.full((rows, top_k), -1, dtype=np.int64)
        self.doc_keys: list[DocKey] = []
        self.stats = {
            "documents": 0,
            "passages": 0,
            "candidates": 0,
            "windows": 0,
            "windows_prefiltered": 0,
        }
        self.nearest_window = np.full(rows, -np.inf, dtype=np.float32)
        # With a separate retrieval model, step-1 scores are on that model's scale:
        # distances and closest documents come from the MiniLM windows alone.
        self.separate = retrieval is not None
        self.prefilter = prefilter
        self.window_docs: list[dict[DocKey, float]] = [{} for _ in range(rows)]

    def add(self, docs: Sequence[Document], source: str) -> None:
        """Retrieval step for one batch of documents."""
        if not docs or not len(self.checked):
            return
        first = len(self.doc_keys)
        self.doc_keys.extend((source, doc.id) for doc in docs)
        if self.separate:
            vectors, owner = self._static_parts(docs, first)
        else:
            vectors, owner = self._minilm_parts(docs, first, as_ids=source == "corpus")
        if len(owner):
            self._merge(vectors, owner)
        self.stats["documents"] += len(docs)
        self.stats["passages"] += len(owner)

    def _static_parts(
        self, docs: Sequence[Document], first: int
    ) -> tuple[F32, npt.NDArray[np.int64]]:
        """Static vectors of every sentence of five words or more (of the whole
        text when it has none), embedded on the fly, and each one's document."""
        texts: list[str] = []
        owner: list[int] = []
        for offset, doc in enumerate(docs):
            spans = windows(doc.text, min_words=self.min_words, sizes=(1,), clauses=False)
            parts = [doc.text[a:b] for a, b in spans] or ([doc.text] if doc.text.strip() else [])
            texts.extend(parts)
            owner.extend([first + offset] * len(parts))
        return self._uncached(texts), np.asarray(owner, dtype=np.int64)

    def _uncached(self, texts: Sequence[str]) -> F32:
        """Retrieval vectors of `texts` straight from the retrieval model, not cached."""
        return embed_uncached(self.retrieval.embedder, texts, self.retrieval.model_name)

    def _minilm_parts(
        self, docs: Sequence[Document], first: int, *, as_ids: bool
    ) -> tuple[F32, npt.NDArray[np.int64]]:
        """MiniLM document vectors (the entries dedup writes; plan prompts are keyed
        by text) and passages over long documents' tails, and each one's document."""
        ids = [d.id for d in docs] if as_ids else None
        vectors = [self.cache.get_or_embed(ids, [d.text for d in docs])]
        owner = [np.arange(first, first + len(docs))]
        tails: list[str] = []
        for offset, doc in enumerate(docs):
            spans = passages(doc.text)
            tails.extend(doc.text[a:b] for a, b in spans)
            owner.append(np.full(len(spans), first + offset, dtype=np.int64))
        if tails:
            vectors.append(self.cache.get_or_embed(None, tails))
        return np.concatenate(vectors), np.concatenate(owner)

    def _merge(self, vectors: F32, owner: npt.NDArray[np.int64]) -> None:
        """Fold this batch's nearest documents into each item's running top-k.

        A document scores its best part. Scores are exact cosines computed in
        blocks of parts (at most `_CELLS` item x part scores at once), each block
        max-pooled per document, so a book of ten thousand sentences costs memory
        for one block, not for all its sentences times every item.
        """
        order = np.argsort(owner, kind="stable")
        vectors, owner = vectors[order], owner[order]
        docs = np.unique(owner)
        best = np.full((len(self.query), len(docs)), -np.inf, dtype=np.float32)
        step = max(1, _CELLS // max(len(self.query), 1))
        for start in range(0, len(vectors), step):
            block = self.query @ vectors[start : start + step].T
            owners = owner[start : start + step]
            cuts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            pooled = np.maximum.reduceat(block, cuts, axis=1)
            columns = np.searchsorted(docs, owners[cuts])
            best[:, columns] = np.maximum(best[:, columns], pooled)
        keep = min(self.top_k, len(docs))
        top = np.argpartition(-best, keep - 1, axis=1)[:, :keep]
        all_scores = np.concatenate([self.best, np.take_along_axis(best, top, axis=1)], axis=1)
        all_docs = np.concatenate([self.best_doc, docs[top]], axis=1)
        all_scores[all_docs < 0] = -np.inf
        first = np.argsort(-all_scores, axis=1, kind="stable")[:, : self.top_k]
        self.best = np.take_along_axis(all_scores, first, axis=1)
        self.best_doc = np.where(
            np.isfinite(self.best), np.take_along_axis(all_docs, first, axis=1), -1
        )

    def candidates(self, also: Iterable[DocKey] = ()) -> set[DocKey]:
        """Documents that are some item's nearest, and `also` (those with n-gram
        hits): the only ones windowed."""
        found = {self.doc_keys[d] for d in np.unique(self.best_doc) if d >= 0}
        found.update(also)
        self.stats["candidates"] = len(found)
        return found

    def window_hits(self, docs: Iterable[tuple[str, Document]]) -> list[WindowHit]:
        """Windows of the candidate documents at or above the threshold."""
        where: dict[str, list[tuple[DocKey, tuple[int, int]]]] = {}
        for source, doc in docs:
            for a, b in windows(doc.text, min_words=self.min_words, sizes=self.sizes):
                where.setdefault(doc.text[a:b], []).append(((source, doc.id), (a, b)))
        texts = list(where)
        if self.separate and self.prefilter and len(self.checked):
            texts = self._prefiltered(texts)
        self.stats["windows"] = len(texts)
        if not texts or not len(self.checked):
            return []
        vectors = self.cache.get_or_embed(None, texts)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        nearest, rows = index.search(self.vectors, min(len(texts), self.top_k))
        self.nearest_window = nearest[:, 0]
        for row, (scores_row, windows_row) in enumerate(zip(nearest, rows, strict=True)):
            docs_row = self.window_docs[row]
            for score, window in zip(scores_row.tolist(), windows_row.tolist(), strict=True):
                for key, _ in where[texts[window]] if window >= 0 else ():
                    docs_row[key] = max(score, docs_row.get(key, -np.inf))
        radius = float(np.nextafter(np.float32(self.threshold), np.float32(-2.0)))
        lims, scores, rows = index.range_search(self.vectors, radius)
        best: dict[tuple[DocKey, int], WindowHit] = {}
        for row in range(len(self.checked)):
            item = int(self.checked[row])
            for score, window in zip(
                scores[lims[row] : lims[row + 1]], rows[lims[row] : lims[row + 1]], strict=True
            ):
                if score < self.threshold:
                    continue
                for key, span in where[texts[window]]:
                    old = best.get((key, item))
                    if old is None or score > old.score:
                        best[key, item] = WindowHit(key, item, float(score), span)
        return sorted(best.values(), key=lambda h: (h.item, -h.score, h.doc))

    def _prefiltered(self, texts: list[str]) -> list[str]:
        """Each item's `prefilter` nearest windows by static vectors: the only ones MiniLM reads."""
        if len(texts) <= self.prefilter:
            return texts
        vectors = self._uncached(texts)  # cheap: recomputing beats a cache row
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        _, rows = index.search(self.query, self.prefilter)
        keep = np.unique(rows[rows >= 0])
        self.stats["windows_prefiltered"] = len(texts) - len(keep)
        return [texts[i] for i in keep]

    def nearest(self) -> tuple[npt.NDArray[np.int64], F32]:
        """Checked item positions and each one's best MiniLM similarity to the
        corpus (-inf where no window was read)."""
        if self.separate:
            return self.checked, self.nearest_window
        return self.checked, np.maximum(self.best.max(axis=1, initial=-np.inf), self.nearest_window)

    def closest(self, rows: npt.NDArray[np.int64], limit: int = 5) -> list[tuple[DocKey, float]]:
        """The documents nearest to any of the given items (positions in `checked`)."""
        found: dict[DocKey, float] = {}
        for row in rows.tolist():
            for key, score in self.window_docs[row].items():
                found[key] = max(score, found.get(key, -np.inf))
            if not self.separate:
                pairs = zip(self.best_doc[row].tolist(), self.best[row].tolist(), strict=True)
                for doc, score in pairs:
                    if doc >= 0:
                        key = self.doc_keys[doc]
                        found[key] = max(score, found.get(key, -np.inf))
        ranked = sorted(found.items(), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:limit]
