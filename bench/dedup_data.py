"""A generated corpus for the streaming dedup benchmark, and a cheap stand-in embedder.

Documents of Zipfian words (about 2.5 KiB of text each) in shards of 10,000,
with planted duplicates: exact copies (case and punctuation changed), near
copies (0.5-4 % of words swapped) and reordered copies (the same sentences
shuffled: a semantic duplicate the near stage misses). Some documents carry
a quality score or an accepted review, so the keep policy has work to do.

The embedder stands in for MiniLM in the semantic stage (hashed word pairs
in 384 dimensions, MiniLM's size), so the benchmark measures the
stage's index and memory rather than a transformer's speed on two cores;
`python -m bench dedup` measures the real embedding paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from toolkit.dedup.tokens import word_hashes
from toolkit.document import Document
from toolkit.io import write_documents

__all__ = ["DIM", "hashed_embedder", "write_corpus"]

DIM = 384
SHARD = 10_000
_SENTENCE = 15  # words per sentence


def _vocab(rng: np.random.Generator, size: int = 30_000) -> npt.NDArray[np.str_]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 10, size)
    return np.array(["".join(rng.choice(letters, n)) for n in lengths])


def _text(words: Sequence[str]) -> str:
    sentences = [words[i : i + _SENTENCE] for i in range(0, len(words), _SENTENCE)]
    return " ".join(" ".join(s).capitalize() + "." for s in sentences)


def _documents(n: int, words: int, seed: int) -> list[Document]:
    """n documents, about a fifth of them planted duplicates of earlier ones."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    zipf = 1.0 / np.arange(1, vocab.size + 1) ** 1.05
    zipf /= zipf.sum()
    n_base = round(n * 0.8)
    drawn = rng.choice(vocab.size, size=(n_base, words), p=zipf)
    bases = [list(vocab[row]) for row in drawn]
    texts = [_text(b) for b in bases]
    kinds = rng.choice(3, size=n - n_base, p=[0.3, 0.5, 0.2]).tolist()
    for kind, base in zip(kinds, rng.integers(0, n_base, n - n_base).tolist(), strict=True):
        if kind == 0:  # exact: the same words, shouted
            texts.append(texts[base].upper() + "!")
            continue
        copy = list(bases[base])
        if kind == 1:  # near: 0.5-4 % of the words swapped
            swap = rng.choice(words, round(rng.uniform(0.005, 0.04) * words), replace=False)
            fresh = rng.choice(vocab.size, swap.size).tolist()
            for pos, word in zip(swap.tolist(), fresh, strict=True):
                copy[pos] = str(vocab[word])
        else:  # reordered: the same sentences, shuffled
            sentences = [copy[i : i + _SENTENCE] for i in range(0, words, _SENTENCE)]
            copy = [w for k in rng.permutation(len(sentences)).tolist() for w in sentences[k]]
        texts.append(_text(copy))
    order = rng.permutation(n)  # duplicates anywhere, not all at the end
    docs = []
    for rank, i in enumerate(order.tolist()):
        meta: dict[str, object] = {}
        if rank % 3 == 0:
            meta["quality"] = {"score": round(float(rng.choice([0.5, 0.7, 0.9])), 1)}
        if rank % 50 == 0:
            meta["review"] = {"status": "accepted"}
        docs.append(Document.create("story", texts[i], metadata=meta))
    return docs


def write_corpus(directory: Path, n: int, words: int = 400, seed: int = 11) -> Path:
    """Write the corpus as shards of `SHARD` documents under `directory/corpus`."""
    path = directory / "corpus"
    write_documents(_documents(n, words, seed), path, shard_size=SHARD)
    return path


def hashed_embedder(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit vectors of signed hashed word-pair counts.

    Pairs of adjacent words rather than words: Zipfian texts share their
    common words, so bags of words would make every two documents alike.
    A near copy keeps most pairs (cos about 0.96), a copy with its sentences
    shuffled keeps all but those across sentence ends (about 0.94), two
    unrelated documents share few (at most about 0.4).
    """
    hashes, counts = word_hashes(list(texts))
    owner = np.repeat(np.arange(len(texts)), counts)
    inside = owner[:-1] == owner[1:]
    pairs = hashes[:-1][inside] * np.uint64(0x9E3779B97F4A7C15) + hashes[1:][inside]
    pairs ^= pairs >> np.uint64(29)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    sign = np.where((pairs >> np.uint64(40)) & np.uint64(1), 1.0, -1.0).astype(np.float32)
    np.add.at(out, (owner[:-1][inside], (pairs % np.uint64(DIM)).astype(np.int64)), sign)
    out[:, 0] += (np.abs(out).sum(axis=1) == 0).astype(np.float32)  # no pairs: a fixed vector
    return np.asarray(out / np.linalg.norm(out, axis=1, keepdims=True), dtype=np.float32)
