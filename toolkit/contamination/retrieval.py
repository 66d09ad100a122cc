"""Step 1 of the semantic stage: each unit's nearest documents, in one streaming pass.

Every sentence of five words or more gets a static model2vec vector
(`toolkit.embeddings.static`, distilled from MiniLM, a hundred times cheaper),
not cached: a short item paraphrased in a long document barely moves the
document's vector, and sentence vectors rank it first. A document scores its
best sentence and each unit keeps its `top_k` documents. With
`retrieval="minilm"`, documents score by the MiniLM vectors `ccorpus dedup`
caches under their ids, plus passages over long documents' tails (the model
reads only a text's first ~200 words). Scores are exact cosines of every unit
against every part in bounded blocks, one matrix product per batch for all
units together; each unit's top-k depends on it and the corpus alone. A
batch's own top-k (`batch_top_k`) is pure, so a worker of the check's
executor computes it beside the batch's n-gram scan, and `Retrieval.take`
folds it in here (`fold_top_k`): the same top-k as a merge of the whole batch.

Unit vectors are kept per group (eval set) in one cache row, keyed by a digest
of that group's texts, so a rerun, or another eval beside it, embeds none.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolkit.contamination.windows import passages, window_sizes, windows
from toolkit.document import Document
from toolkit.embeddings import (
    Embedder,
    EmbeddingCache,
    MiniLM,
    embed_uncached,
    load_embedder,
    select_path,
)

__all__ = [
    "BatchTopK",
    "DocKey",
    "Retrieval",
    "batch_top_k",
    "fold_top_k",
    "static_parts",
    "token_lengths",
    "unit_vectors",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
DocKey = tuple[str, str]  # (source, document id)
_CELLS = 1 << 24  # unit x part scores held at once (64 MiB of float32)
UNITS_KEY = "contamination-units.v1"
WORDS = re.compile(r"\w+")


def token_lengths(cache: EmbeddingCache) -> Callable[[Sequence[str]], list[int]] | None:
    """How the bundled MiniLM measures texts (its tokens, up to what it reads), for
    `get_or_embed(lengths=...)`: batches of one length pad nothing, so a window's
    vector is the same whichever other units' windows were embedded beside it
    (on fp32; a CPU's AMX bf16 kernels still move it by up to 1e-3 in cosine
    with the batch's size). None for other embedders, whose batches are taken
    as they come."""
    embedder = cache.embedder
    if not isinstance(embedder, MiniLM):
        return None

    def lengths(texts: Sequence[str]) -> list[int]:
        model = load_embedder(select_path(embedder.precision, device=embedder.device).device)
        limit = int(model.max_seq_length)
        ids = model.tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]
        return [len(row) for row in ids]

    return lengths


def unit_vectors(
    cache: EmbeddingCache, texts: Sequence[str], groups: Sequence[str]
) -> npt.NDArray[np.float32]:
    """Vectors of `texts`, one cache block per group (eval set), keyed by a digest
    of that group's texts: a rerun, or a new eval beside it, embeds none of them."""
    lengths = token_lengths(cache)
    out: npt.NDArray[np.float32] | None = None
    for group in dict.fromkeys(groups):
        rows = [i for i, g in enumerate(groups) if g == group]
        digest = hashlib.sha256(UNITS_KEY.encode())
        for i in rows:
            digest.update(texts[i].encode("utf-8") + b"\0")
        block = cache.get_or_embed_block(
            f"units:{digest.hexdigest()}", [texts[i] for i in rows], lengths=lengths
        )
        if out is None:
            out = np.zeros((len(texts), block.shape[1]), dtype=np.float32)
        out[rows] = block
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class Retrieval:
    """Each unit's `top_k` documents (`add` or `take` per batch), then `candidates`."""

    def __init__(
        self,
        texts: Sequence[str],
        cache: EmbeddingCache,
        static: EmbeddingCache,
        *,
        groups: Sequence[str] | None = None,
        retrieval: str = "static",
        top_k: int = 10,
        verify_k: int = 3,
        min_words: int = 5,
    ) -> None:
        self.cache, self.static = cache, static
        self.texts = list(texts)
        self.top_k, self.verify_k, self.min_words = top_k, verify_k, min_words
        self.minilm_retrieval = retrieval == "minilm"
        groups = list(groups) if groups is not None else [""] * len(self.texts)
        started = time.perf_counter()
        self.vectors = unit_vectors(cache, self.texts, groups)
        self.static_vectors = unit_vectors(static, self.texts, groups)
        self.timings = {"unit_vectors_s": time.perf_counter() - started}
        self.query = self.vectors if self.minilm_retrieval else self.static_vectors
        self.sizes = [window_sizes([t]) for t in self.texts]
        self.lengths = np.asarray([max(len(WORDS.findall(t)), 1) for t in self.texts], float)
        rows = len(self.texts)
        self.best = np.full((rows, top_k), -np.inf, dtype=np.float32)
        self.best_doc = np.full((rows, top_k), -1, dtype=np.int64)
        self.doc_keys: list[DocKey] = []
        self.stats = {
            "documents": 0,
            "passages": 0,
            "candidates": 0,
            "read": 0,
            "windows": 0,
            "verified": 0,
        }
        self.nearest = np.full(rows, -np.inf, dtype=np.float32)
        self.window_docs: list[dict[DocKey, float]] = [{} for _ in range(rows)]
        self._rows_of: dict[DocKey, list[int]] = {}
        self._doc_index: dict[DocKey, int] = {}

    def add(self, docs: Sequence[Document], source: str) -> None:
        """Retrieval for one batch of documents, here (see `take` for a batch whose
        static retrieval ran elsewhere)."""
        if not docs or not self.texts:
            return
        if self.minilm_retrieval:
            vectors, owner = self._minilm_parts(docs, as_ids=source == "corpus")
        else:
            vectors, owner = static_parts(
                self.static.embedder, self.static.model_name, docs, self.min_words
            )
        found = batch_top_k(self.query, vectors, owner, self.top_k)
        self.take([(source, doc.id) for doc in docs], found)

    def take(self, keys: Sequence[DocKey], found: BatchTopK) -> None:
        """Fold a batch's own top-k (`batch_top_k`, documents numbered within the
        batch) into each unit's running top-k; `keys` are the batch's documents."""
        if not keys or not self.texts:
            return
        first = len(self.doc_keys)
        self.doc_keys.extend(keys)
        if found.parts:
            self.best, self.best_doc = fold_top_k(
                self.best, self.best_doc, found.scores, found.docs + first, self.top_k
            )
        self.stats["documents"] += len(keys)
        self.stats["passages"] += found.parts

    def _minilm_parts(self, docs: Sequence[Document], *, as_ids: bool) -> tuple[F32, I64]:
        """MiniLM document vectors (the entries dedup writes; plan prompts are keyed
        by text) and passages over long documents' tails, and each one's document."""
        ids = [d.id for d in docs] if as_ids else None
        vectors = [self.cache.get_or_embed(ids, [d.text for d in docs])]
        owner = [np.arange(len(docs))]
        tails: list[str] = []
        for offset, doc in enumerate(docs):
            spans = passages(doc.text)
            tails.extend(doc.text[a:b] for a, b in spans)
            owner.append(np.full(len(spans), offset, dtype=np.int64))
        if tails:
            vectors.append(self.cache.get_or_embed(None, tails))
        return np.concatenate(vectors), np.concatenate(owner)

    def candidates(self, also: Mapping[int, Iterable[DocKey]] | None = None) -> set[DocKey]:
        """Documents to read in step 2: each unit's top-k, and `also[row]` (documents
        with an n-gram hit on that unit's item)."""
        self._doc_index = {key: i for i, key in enumerate(self.doc_keys)}
        rows_of: dict[DocKey, list[int]] = {}
        for row in range(len(self.texts)):
            mine = {self.doc_keys[d] for d in self.best_doc[row].tolist() if d >= 0}
            mine.update(k for k in (also or {}).get(row, ()) if k in self._doc_index)
            for key in mine:
                rows_of.setdefault(key, []).append(row)
        self._rows_of = rows_of
        self.stats["candidates"] = len(rows_of)
        return set(rows_of)


@dataclass(frozen=True)
class BatchTopK:
    """One batch's best documents for each unit, best first (ties: the earlier
    document): `scores` and `docs` (positions in the batch), units x at most
    top_k; `parts` is how many parts (sentences, passages) were scored."""

    scores: F32
    docs: I64
    parts: int


def static_parts(
    embedder: Embedder, name: str, docs: Sequence[Document], min_words: int
) -> tuple[F32, I64]:
    """Static vectors of every sentence of `min_words` words or more (of the whole
    text when it has none), and each one's document (its position in `docs`)."""
    texts: list[str] = []
    owner: list[int] = []
    for offset, doc in enumerate(docs):
        parts = _long_sentences(doc.text, min_words)
        texts.extend(parts)
        owner.extend([offset] * len(parts))
    return embed_uncached(embedder, texts, name), np.asarray(owner, dtype=np.int64)


def batch_top_k(query: F32, vectors: F32, owner: I64, top_k: int) -> BatchTopK:
    """Each unit's `top_k` documents of one batch, a document scoring its best part;
    exact cosines in blocks of at most `_CELLS` scores. Pure: it runs wherever the
    batch is, and `fold_top_k` gives what one merge of the whole batch would."""
    order = np.argsort(owner, kind="stable")
    vectors, owner = vectors[order], owner[order]
    docs = np.unique(owner)
    best = np.full((len(query), len(docs)), -np.inf, dtype=np.float32)
    step = max(1, _CELLS // max(len(query), 1))
    for start in range(0, len(vectors), step):
        block = query @ vectors[start : start + step].T
        owners = owner[start : start + step]
        cuts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        pooled = np.maximum.reduceat(block, cuts, axis=1)
        columns = np.searchsorted(docs, owners[cuts])
        best[:, columns] = np.maximum(best[:, columns], pooled)
    first = np.argsort(-best, axis=1, kind="stable")[:, :top_k]
    return BatchTopK(np.take_along_axis(best, first, axis=1), docs[first], len(owner))


def fold_top_k(best: F32, best_doc: I64, scores: F32, docs: I64, top_k: int) -> tuple[F32, I64]:
    """The running top-k (`best`, `best_doc`; -inf and -1 where empty) with a later
    batch's top-k folded in. Ties go to the earlier document, so the order is the
    corpus's: the top-k of both equals the top-k of the running one and the whole
    batch, since a document outside the batch's own top-k has k before it."""
    scores = np.concatenate([best, scores], axis=1)
    ids = np.concatenate([best_doc, docs], axis=1)
    scores[ids < 0] = -np.inf
    first = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    kept = np.take_along_axis(scores, first, axis=1)
    return kept, np.where(np.isfinite(kept), np.take_along_axis(ids, first, axis=1), -1)


def _long_sentences(text: str, min_words: int) -> list[str]:
    spans = windows(text, min_words=min_words, sizes=(1,), clauses=False)
    return [text[a:b] for a, b in spans] or ([text] if text.strip() else [])
