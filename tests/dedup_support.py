"""A corpus that exercises every dedup stage and keep-policy tie, and a fake embedder."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.dedup import DedupConfig
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache
from toolkit.io import write_documents

VOCAB = [f"w{i}" for i in range(3000)]
FAKE_MODEL = "fake-bag-of-words"


def bag_of_words(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Signed hashed word counts in 64 dimensions: word order does not matter, so a
    shuffled copy is a semantic duplicate that the near stage misses."""
    out = np.zeros((len(texts), 64), np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            h = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
            out[i, h % 64] += 1.0 if (h >> 8) & 1 else -1.0
        out[i, 0] += 0.0 if out[i].any() else 1.0
    return np.asarray(out / np.linalg.norm(out, axis=1, keepdims=True), np.float32)


def fake_cache(directory: Path) -> EmbeddingCache:
    return EmbeddingCache(directory, FAKE_MODEL, embedder=bag_of_words)


def _words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def tricky_documents(seed: int = 3, bases: int = 40) -> list[Document]:
    """Bases and, in random order among them, every kind of duplicate and tie.

    Exact copies (case and punctuation changed), near copies (a few words
    swapped), shuffled copies (only the semantic stage links them), a chain,
    identical documents (same id: only corpus order can break the tie), equal
    quality scores and lengths, accepted reviews, empty and one-word texts.
    """
    rng = random.Random(seed)
    texts = [" ".join(_words(rng, rng.randint(60, 90))) for _ in range(bases)]
    scored = {"quality": {"score": 0.9}}
    docs: list[tuple[str, dict[str, Any]]] = [
        (t, scored if k % 6 == 1 else {}) for k, t in enumerate(texts)
    ]
    for k, base in enumerate(texts):
        words = base.split()
        kind = k % 6
        if kind == 0:
            docs.append((base.upper() + " !", {}))
        elif kind == 1:
            edited = list(words)
            edited[rng.randrange(len(edited))] = rng.choice(VOCAB)
            docs.append((" ".join(edited), {"quality": {"score": 0.7}}))
        elif kind == 2:
            docs.append((" ".join(rng.sample(words, len(words))), {}))
        elif kind == 3:  # the same text twice: the same id
            docs += [(base, {"quality": {"score": 0.5}}), (base, {"quality": {"score": 0.5}})]
        elif kind == 4:
            docs.append((base + " tail", {"review": {"status": "accepted"}}))
        else:  # a chain: each link shares most of its words with the next
            docs += [(" ".join(words[3:] + _words(rng, 3)), {}), (" ".join(words[6:]), {})]
    docs += [("", {}), ("", {}), ("one", {}), ("One!", {"quality": {"score": 0.9}})]
    rng.shuffle(docs)
    return [
        Document.create("story" if i % 3 else "advice", text, metadata=meta)
        for i, (text, meta) in enumerate(docs)
    ]


def write_shards(docs: Sequence[Document], root: Path) -> Path:
    """Three shards of uneven size (one compressed, one in a subfolder)."""
    corpus = root / "corpus"
    third = len(docs) // 3
    write_documents(docs[:third], corpus / "a.jsonl")
    write_documents(docs[third : third + 1], corpus / "b.jsonl.zst")
    write_documents(docs[third + 1 :], corpus / "sub" / "c.jsonl")
    return corpus


def config(**settings: Any) -> DedupConfig:
    """Settings under which every stage finds something in `tricky_documents`."""
    base: dict[str, Any] = {
        "near_threshold": 0.7,
        "ngram": 3,
        "semantic_threshold": 0.95,
        "quiet": True,
    }
    return DedupConfig(**{**base, **settings})
