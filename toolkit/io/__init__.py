"""Corpus files: atomic writes, streaming JSONL / JSONL.zst reads, stage markers,
and the overwrite policy."""

from toolkit.io.atomic import atomic_write, remove_stale_temps
from toolkit.io.corpus import (
    DEFAULT_MAX_DOC_BYTES,
    MAX_DOC_BYTES_ENV,
    CorpusWriter,
    SkipReport,
    corpus_files,
    max_doc_bytes,
    read_documents,
    require_documents,
    write_documents,
)
from toolkit.io.marker import MARKER, StageMarker, check_output, output_problem
from toolkit.io.outputs import existing_outputs, refuse_existing

__all__ = [
    "DEFAULT_MAX_DOC_BYTES",
    "MARKER",
    "MAX_DOC_BYTES_ENV",
    "CorpusWriter",
    "SkipReport",
    "StageMarker",
    "atomic_write",
    "check_output",
    "corpus_files",
    "existing_outputs",
    "max_doc_bytes",
    "output_problem",
    "read_documents",
    "refuse_existing",
    "remove_stale_temps",
    "require_documents",
    "write_documents",
]
