"""First pass: read each input shard once, in chunks, and write what the stages compare.

Per document: its id and a snippet (for the report), the keep policy's
fields (text length, quality score, accepted review), the exact key, and
for the near stage its shingle set and LSH band keys. Each is computed per
document, so a chunk gives the same values as the whole corpus would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.dedup.clusters import Candidate
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.exact import exact_key
from toolkit.dedup.lsh import band_keys
from toolkit.dedup.memory import Budget
from toolkit.dedup.minhash import minhash_signatures, optimal_bands, shingle_sets
from toolkit.dedup.report import snippet
from toolkit.dedup.work import FEATURES, Part, WorkDir, write_strings
from toolkit.document import Document
from toolkit.executor import Executor
from toolkit.io import read_documents

__all__ = ["PART_DOCS", "HeldDocs", "ShardScan", "bands_of", "chunks", "scan_corpus"]

PART_DOCS = 1 << 15  # documents per part at most: lookups read a part's tables whole
_DOC_OVERHEAD = 2048  # bytes a decoded document holds besides its text (metadata, objects)


def bands_of(config: DedupConfig) -> tuple[int, int]:
    """(bands, rows) of the near stage, as `NearStage` picks them."""
    if config.bands is None:
        return optimal_bands(config.near_threshold, config.num_perm)
    return config.bands, config.num_perm // config.bands


class HeldDocs:
    """The documents read by the first pass, kept while they fit in a quarter of the bound.

    A small corpus is then read once, not once per pass; a larger one (or a
    resumed run, which did not read every shard) is read again from disk.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.limit = budget.held_bytes
        self.size = 0
        self.docs: list[Document] | None = []

    def add(self, doc: Document) -> Document:
        if self.docs is not None:
            self.size += 2 * len(doc.text) + _DOC_OVERHEAD  # measured: 1.3 bytes a character
            self.docs.append(doc)
            if self.size > self.limit:
                self.docs = None
        return doc

    def drop(self) -> None:
        self.docs = None

    def shard(self, scan: ShardScan) -> Iterator[Document]:
        """The documents of one scanned shard, from memory or from its file."""
        if self.docs is not None:
            return iter(self.docs[scan.start : scan.start + scan.docs])
        return read_documents(scan.file)


@dataclass(frozen=True, slots=True)
class ShardScan:
    """One input shard's documents and the parts they were written to."""

    file: Path
    start: int
    docs: int
    parts: tuple[Part, ...]


def chunks(docs: Iterator[Document], budget: Budget, per_doc: int) -> Iterator[list[Document]]:
    """Runs of documents whose estimated working memory stays within a chunk's share."""
    chunk: list[Document] = []
    size = 0
    for doc in docs:
        chunk.append(doc)
        size += 8 * len(doc.text) + per_doc + _DOC_OVERHEAD
        if size >= budget.chunk_bytes or len(chunk) >= PART_DOCS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _write_part(part: Part, docs: Sequence[Document], config: DedupConfig) -> None:
    write_strings(part.path("ids"), [d.id for d in docs])
    write_strings(part.path("snippets"), [snippet(d.text) for d in docs])
    features = np.zeros(len(docs), dtype=FEATURES)
    for i, doc in enumerate(docs):
        c = Candidate.of(doc)
        features[i] = (c.length, np.nan if c.score is None else c.score, c.accepted)
    np.save(part.path("features.npy"), features)
    if "exact" in config.stages:
        digest = b"".join(exact_key(d.text) for d in docs)
        np.save(part.path("exact.npy"), np.frombuffer(digest, np.uint8).reshape(len(docs), 32))
    if "near" in config.stages:
        sets = shingle_sets([d.text for d in docs], config.ngram)
        np.save(part.path("shingles.npy"), sets.values)
        np.save(part.path("shingle_offsets.npy"), sets.offsets)
        signatures = minhash_signatures(sets, config.num_perm, config.seed)
        bands, rows = bands_of(config)
        np.save(part.path("bands.npy"), band_keys(signatures, bands, rows))


def _scan_shard(
    work: WorkDir,
    index: int,
    file: Path,
    config: DedupConfig,
    held: HeldDocs,
    advance: Any,
) -> dict[str, Any]:
    folder = work.begin(work.folder("scan", f"{index:05d}"))
    counts: list[int] = []
    per_doc = config.num_perm * 4 + 64 if "near" in config.stages else 64
    docs_read = (held.add(doc) for doc in read_documents(file))
    for k, docs in enumerate(chunks(docs_read, held.budget, per_doc)):
        _write_part(Part(folder, f"{k:05d}", 0, len(docs)), docs, config)
        counts.append(len(docs))
        advance(len(docs))
    record: dict[str, Any] = {"file": str(file), "docs": sum(counts), "parts": counts}
    work.mark(folder, record)
    return record


@dataclass(frozen=True)
class _ScanJob:
    """What every shard's scan shares when shards are scanned as tasks elsewhere."""

    work: WorkDir
    config: DedupConfig


def _scan_task(job: _ScanJob, shard: tuple[int, Path]) -> dict[str, Any]:
    """One shard's scan in a worker: its folder written and marked; its record.

    The worker holds no documents for later passes (they read the shard again)."""
    held = HeldDocs(Budget(job.config.memory_mb))
    held.drop()
    index, file = shard
    return _scan_shard(job.work, index, file, job.config, held, lambda n: None)


def _scanned(work: WorkDir, index: int, file: Path) -> dict[str, Any] | None:
    record = work.done(work.folder("scan", f"{index:05d}"))
    return record if record is not None and record.get("file") == str(file) else None


def scan_corpus(
    files: Sequence[Path],
    work: WorkDir,
    config: DedupConfig,
    held: HeldDocs,
    advance: Any,
    executor: Executor | None = None,
) -> tuple[list[ShardScan], int]:
    """Scan every shard not scanned yet; the scans in corpus order, and how many were redone.

    `advance(n)` is told of each chunk of documents read; `held` keeps them
    while they fit (and is emptied when a shard was scanned by an earlier run,
    or by an `executor` outside this process, whose tasks scan the shards
    each into its own folder, marked done last).
    """
    records = [_scanned(work, index, file) for index, file in enumerate(files)]
    todo = [(index, file) for index, file in enumerate(files) if records[index] is None]
    redo = {index for index, _ in todo}
    if executor is not None and not executor.in_process and todo:
        held.drop()
        for (index, _), record in zip(
            todo, executor.map_shards(_scan_task, _ScanJob(work, config), todo), strict=True
        ):
            records[index] = record
            advance(int(record["docs"]))
    scans: list[ShardScan] = []
    start = redone = 0
    for index, file in enumerate(files):
        folder = work.folder("scan", f"{index:05d}")
        found = records[index]
        if found is None:
            found = _scan_shard(work, index, file, config, held, advance)
        elif index not in redo:
            held.drop()
        redone += index in redo
        counts = [int(c) for c in found["parts"]]
        parts, offset = [], start
        for k, count in enumerate(counts):
            parts.append(Part(folder, f"{k:05d}", offset, count))
            offset += count
        scans.append(ShardScan(file, start, offset - start, tuple(parts)))
        start = offset
    return scans, redone
