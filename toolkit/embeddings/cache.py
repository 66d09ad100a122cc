"""Embeddings computed once per text and model, kept on disk between runs.

Why SQLite (one file, BLOB rows) rather than numpy shards plus an index file:
each batch of new vectors is one transaction, so a crash mid-run loses at most
the batch being written and never leaves an index that points past its data;
lookups by key use the primary-key index, without loading the whole cache; and
`sqlite3` ships with Python. WAL mode lets readers (a contamination check, say)
read while a dedup run writes.

Rows are keyed by (model, key): the key is a document id, or `sha256:<hex>` of
the text for texts that are not documents. The text's hash is stored beside
the vector, so a document whose text changed under the same id is embedded
again rather than served a stale vector. The bundled model's rows name its
compute path unless it is CPU fp32 (`...+torch-bf16-autocast`,
`...+torch-cuda-fp32`), so vectors of one path never stand in for another's.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.embeddings.embedder import Embedder, embed_checked
from toolkit.embeddings.model import DEFAULT_MODEL, MiniLM
from toolkit.errors import InputError
from toolkit.progress import progress

__all__ = [
    "CACHE_DIR",
    "DB_NAME",
    "BatchRunner",
    "EmbeddingCache",
    "default_cache_dir",
    "text_hash",
]

#: Embeds batches of texts somewhere (workers of a cluster, say), yielding one
#: array a batch, in order: what `EmbeddingCache.runner` may be set to.
BatchRunner = Callable[[Sequence[Sequence[str]]], Iterable[npt.NDArray[np.float32]]]

#: Where a cache folder goes under its root when none is named (`default_cache_dir`).
CACHE_DIR = Path(".ccorpus-cache") / "embeddings"
DB_NAME = "embeddings.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID
"""
_BLOCKS = """
CREATE TABLE IF NOT EXISTS blocks (
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    vectors BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID
"""
_LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...), below SQLite's parameter limit


def default_cache_dir(root: str | Path | None = None) -> Path:
    """The embedding cache folder used when none is named: `.ccorpus-cache/embeddings`
    under `root` (`ccorpus dedup` passes its output folder), else under the working
    directory. `ccorpus contamination check` reads the latter, so point it at
    dedup's with `--cache` to reuse dedup's vectors."""
    return CACHE_DIR if root is None else Path(root) / CACHE_DIR


def text_hash(text: str) -> str:
    """Hex sha256 of the UTF-8 text: the key of a text that is not a document."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """`get_or_embed(ids, texts)` returns one row per text, embedding only misses.

    The cache is given its `embedder` (kept as `.embedder`): by default the
    bundled `MiniLM`; pass another `Embedder` (and its own `model_name`) to
    cache a different model. The name `DEFAULT_MODEL` stands for the bundled
    model's key on the compute path this machine takes (`model.model_key`).
    `embedded` and `hits` count vectors computed and served from disk over this
    object's life; `last_embedded` counts those of the latest call.

    `runner`, when set (`toolkit.embeddings.actors.embedding_on`), embeds the
    batches instead of this process: lookups and writes stay here, and the
    batches are the ones this process would embed, so the vectors are too.
    """

    def __init__(
        self,
        directory: str | Path,
        model_name: str = DEFAULT_MODEL,
        *,
        embedder: Embedder | None = None,
        batch_size: int = 256,
        quiet: bool = True,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch size: expected a positive number, got {batch_size}")
        self.directory = Path(directory)
        self.model_name = model_name
        if model_name == DEFAULT_MODEL:
            self.model_name = MiniLM().name
        self.batch_size = batch_size
        self.quiet = quiet
        self.embedded = 0
        self.hits = 0
        self.last_embedded = 0
        self.embedder: Embedder = MiniLM() if embedder is None else embedder
        self.runner: BatchRunner | None = None
        # the bundled model loads (its own bar) before the first batch, not inside it
        self._prepare: Callable[[bool], None] | None = (
            self.embedder.prepare if isinstance(self.embedder, MiniLM) else None
        )
        self.path = self.directory / DB_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.execute(_BLOCKS)
            self._db.commit()
        except (OSError, sqlite3.Error) as err:
            raise InputError(f"{self.path}: cannot open the embedding cache ({err})") from None

    def _lookup(self, keys: list[str]) -> dict[str, tuple[str, bytes, int]]:
        found: dict[str, tuple[str, bytes, int]] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            query = (
                "SELECT key, text_hash, vector, dim FROM vectors "
                f"WHERE model = ? AND key IN ({marks})"
            )
            rows = self._db.execute(query, [self.model_name, *chunk])
            for key, digest, blob, dim in rows:
                found[key] = (digest, blob, dim)
        return found

    def _embed_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return embed_checked(self.embedder, texts, self.model_name)

    def get_or_embed(
        self,
        ids: Sequence[str] | None,
        texts: Sequence[str],
        *,
        lengths: Callable[[Sequence[str]], Sequence[int]] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Vectors for `texts` (shape `(len(texts), dim)`), keyed by `ids` or text hashes.

        With `lengths` (a length per text, in the model's tokens, asked only of the
        texts to embed), texts of different lengths never share a batch: none is
        padded, so a text's vector does not depend on which others were embedded
        beside it (bfloat16 kernels round a padded batch differently)."""
        if ids is not None and len(ids) != len(texts):
            raise InputError(f"embedding cache: {len(ids)} ids for {len(texts)} texts")
        self.last_embedded = 0
        if not texts:
            return self._embed_batch([])
        digests = [text_hash(t) for t in texts]
        keys = list(ids) if ids is not None else [f"sha256:{d}" for d in digests]
        rows: dict[tuple[str, str], list[int]] = {}
        for pos, pair in enumerate(zip(keys, digests, strict=True)):
            rows.setdefault(pair, []).append(pos)
        found = self._lookup(list(dict.fromkeys(keys)))
        vectors: dict[tuple[str, str], npt.NDArray[np.float32]] = {}
        for pair in rows:
            hit = found.get(pair[0])
            if hit is not None and hit[0] == pair[1]:
                vectors[pair] = np.frombuffer(hit[1], dtype=np.float32, count=hit[2])
        self.hits += len(vectors)
        missing = [pair for pair in rows if pair not in vectors]
        pending = [texts[rows[pair][0]] for pair in missing]
        self._fill(missing, pending, vectors, _batches(pending, self.batch_size, lengths))
        return self._assemble(rows, vectors, len(texts))

    def _fill(
        self,
        missing: list[tuple[str, str]],
        texts: list[str],
        vectors: dict[tuple[str, str], npt.NDArray[np.float32]],
        batches: list[list[int]],
    ) -> None:
        if missing and self._prepare is not None and self.runner is None:
            self._prepare(self.quiet)
        texts_of = [[texts[i] for i in positions] for positions in batches]
        if self.runner is None:
            arrays: Iterable[npt.NDArray[np.float32]] = map(self._embed_batch, texts_of)
        else:
            arrays = self.runner(texts_of)
        done = zip(batches, arrays, strict=True)
        for positions, embedded in progress(
            done, description="embedding", total=len(batches), quiet=self.quiet or not missing
        ):
            batch = [missing[i] for i in positions]
            with self._db:  # one transaction per batch: all of it lands, or none
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)",
                    [
                        (self.model_name, key, digest, embedded.shape[1], row.tobytes())
                        for (key, digest), row in zip(batch, embedded, strict=True)
                    ],
                )
            for pair, row in zip(batch, embedded, strict=True):
                vectors[pair] = row
            self.embedded += len(batch)
            self.last_embedded += len(batch)

    def _assemble(
        self,
        rows: dict[tuple[str, str], list[int]],
        vectors: dict[tuple[str, str], npt.NDArray[np.float32]],
        n: int,
    ) -> npt.NDArray[np.float32]:
        dims = {vec.shape[0] for vec in vectors.values()}
        if len(dims) != 1:
            raise InputError(
                f"{self.path}: vectors of {self.model_name!r} have mixed sizes {sorted(dims)}; "
                "was another model cached under this name?"
            )
        out = np.empty((n, dims.pop()), dtype=np.float32)
        for pair, positions in rows.items():
            out[positions] = vectors[pair]
        return out

    def get_or_embed_block(
        self,
        key: str,
        texts: Sequence[str],
        *,
        lengths: Callable[[Sequence[str]], Sequence[int]] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Vectors of `texts` kept together under `key` (a digest of the texts, say,
        such as an eval set's match units): a set seen before is one row read, not
        one lookup per text. A miss embeds through `get_or_embed` (`lengths` as
        there), so texts already cached one by one are not embedded again."""
        row = self._db.execute(
            "SELECT count, dim, vectors FROM blocks WHERE model = ? AND key = ?",
            [self.model_name, key],
        ).fetchone()
        if row is not None and row[0] == len(texts):
            self.last_embedded = 0
            self.hits += len(texts)
            return np.frombuffer(row[2], dtype=np.float32).reshape(row[0], row[1]).copy()
        vectors = self.get_or_embed(None, texts, lengths=lengths)
        if len(texts):
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?)",
                    [self.model_name, key, len(texts), vectors.shape[1], vectors.tobytes()],
                )
        return vectors

    def count(self) -> int:
        """Vectors stored for this model."""
        row = self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [self.model_name])
        return int(row.fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _batches(
    texts: list[str], size: int, lengths: Callable[[Sequence[str]], Sequence[int]] | None
) -> list[list[int]]:
    """Positions of `texts` in batches of at most `size`: in order, or, with
    `lengths`, grouped by length (shortest first) with no batch mixing two."""
    if lengths is None or not texts:
        return [list(range(i, min(i + size, len(texts)))) for i in range(0, len(texts), size)]
    measured = list(lengths(texts))
    order = sorted(range(len(texts)), key=lambda i: measured[i])
    batches: list[list[int]] = []
    for i in order:
        if not batches or len(batches[-1]) >= size or measured[batches[-1][0]] != measured[i]:
            batches.append([])
        batches[-1].append(i)
    return batches
