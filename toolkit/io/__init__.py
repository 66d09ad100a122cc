"""Corpus files: atomic writes and streaming JSONL / JSONL.zst reads."""

from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import (
    CorpusWriter,
    SkipReport,
    corpus_files,
    read_documents,
    write_documents,
)

__all__ = [
    "CorpusWriter",
    "SkipReport",
    "atomic_write",
    "corpus_files",
    "read_documents",
    "write_documents",
]
