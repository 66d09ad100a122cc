"""Read each source once: filter, drop repeated ids, count tokens, stage the rows.

One streaming pass per source keeps memory flat: the kept rows go to a
staging SQLite file (random access for the shuffled write later) and only a
small `Candidate` (ids and counts) stays in memory. Every drop is counted by
reason, so the manifest can say where each source's documents went.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.document import Document
from toolkit.io import corpus_files, read_documents
from toolkit.mix.shards import to_row
from toolkit.mix.spec import UNREVIEWED, MixSpec, SourceSpec
from toolkit.mix.tokens import BATCH, TokenCounter, sha256_file
from toolkit.progress import progress

__all__ = ["Candidate", "SourceStats", "Staging", "drop_reason", "select_sources"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A kept document as the planner sees it: where it is staged, its id and size."""

    source: int
    ordinal: int
    id: str
    tokens: int


@dataclass
class SourceStats:
    """What one source held and what became of it before sampling."""

    name: str
    files: list[dict[str, str]] = field(default_factory=list)
    read: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "documents_read": self.read,
            "dropped": dict(sorted(self.dropped.items())),
            "documents_available": self.documents,
            "tokens_available": self.tokens,
        }


def _review_status(doc: Document) -> str:
    review = doc.metadata.get("review")
    status = review.get("status") if isinstance(review, dict) else None
    return status if isinstance(status, str) and status else UNREVIEWED


def _quality_value(quality: dict[str, Any], key: str) -> Any:
    """`key` of `metadata["quality"]`: a top-level number (`score`), else a score term's
    part (`components`), else a signal (`signals`); see `toolkit.metadata.QualityMetadata`."""
    if key in quality:
        return quality[key]
    for table in ("components", "signals"):
        values = quality.get(table)
        if isinstance(values, dict) and key in values:
            return values[key]
    return None


def _quality_ok(doc: Document, minimums: tuple[tuple[str, float], ...]) -> bool:
    quality = doc.metadata.get("quality")
    if not isinstance(quality, dict):
        return False
    for key, minimum in minimums:
        value = _quality_value(quality, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            return False
    return True


def drop_reason(doc: Document, source: SourceSpec) -> str | None:
    """Why `source`'s filters drop `doc`, or None to keep it.

    A document without a review status counts as "unreviewed"; one without the
    quality keys a threshold names (or with a null score) fails that threshold.
    """
    if source.kinds and doc.kind not in source.kinds:
        return "kind"
    if source.review_status and _review_status(doc) not in source.review_status:
        return "review_status"
    if source.min_quality and not _quality_ok(doc, source.min_quality):
        return "min_quality"
    if source.principle_ids and not set(doc.principle_ids) & set(source.principle_ids):
        return "principle_ids"
    if not doc.text.strip():
        return "empty"
    return None


class Staging:
    """Kept rows by (source, ordinal) in a throwaway SQLite file."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE rows (source INTEGER, ordinal INTEGER, row TEXT,"
            " PRIMARY KEY (source, ordinal)) WITHOUT ROWID"
        )

    def add(self, rows: list[tuple[int, int, dict[str, Any]]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO rows VALUES (?, ?, ?)",
                [(s, o, json.dumps(r, ensure_ascii=False)) for s, o, r in rows],
            )

    def get(self, source: int, ordinal: int) -> dict[str, Any]:
        query = "SELECT row FROM rows WHERE source = ? AND ordinal = ?"
        (row,) = self.db.execute(query, (source, ordinal)).fetchone()
        data: dict[str, Any] = json.loads(row)
        return data

    def close(self) -> None:
        self.db.close()


def _file_entries(source: SourceSpec) -> list[dict[str, str]]:
    """Each input file with its sha256; names relative to the source path, so stable."""
    entries = []
    for file in corpus_files(source.resolved):
        name = file.name if file == source.resolved else file.relative_to(source.resolved)
        entries.append({"file": Path(name).as_posix(), "sha256": sha256_file(file)})
    return entries


def _batches(docs: Iterator[Document]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def select_sources(
    spec: MixSpec, counter: TokenCounter, staging: Staging, *, quiet: bool = False
) -> tuple[list[list[Candidate]], list[SourceStats]]:
    """Filter and count every source; return kept candidates and per-source stats.

    An id seen earlier (in this source or one listed before it) is dropped as
    "duplicate_id": a document belongs to one source, so shares stay honest.
    """
    seen: set[str] = set()
    candidates: list[list[Candidate]] = []
    stats: list[SourceStats] = []
    for index, source in enumerate(spec.sources):
        stat = SourceStats(source.name, files=_file_entries(source))
        kept: list[Candidate] = []
        docs = progress(read_documents(source.resolved), description=source.name, quiet=quiet)
        for batch in _batches(docs):
            stat.read += len(batch)
            keep: list[Document] = []
            for doc in batch:
                reason = drop_reason(doc, source)
                if reason is None and doc.id in seen:
                    reason = "duplicate_id"
                if reason is not None:
                    stat.dropped[reason] += 1
                    continue
                seen.add(doc.id)
                keep.append(doc)
            tokens = counter.count([(d.id, d.text) for d in keep])
            staged = []
            for doc, n in zip(keep, tokens, strict=True):
                kept.append(Candidate(index, len(kept), doc.id, n))
                staged.append((index, kept[-1].ordinal, to_row(doc, source.name)))
            staging.add(staged)
        stat.documents = len(kept)
        stat.tokens = sum(c.tokens for c in kept)
        candidates.append(kept)
        stats.append(stat)
    return candidates, stats
