"""Last pass: stream the corpus again and write each document kept or rejected.

The output is what `SplitWriter` writes (kept/ and rejected/ shards, each
rejected document's reason and details under `metadata["rejected"]`, a
cluster winner's record under `metadata["dedup"]`), one chunk of documents
at a time. Every shard committed is journaled in the work folder, so a
killed run starts again after the last full shard of each side: the
documents before it are read but not written again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from toolkit.dedup.decide import Lookup
from toolkit.dedup.outcome import Outcome, apply_verdicts
from toolkit.dedup.scan import HeldDocs, ShardScan, chunks
from toolkit.dedup.work import WorkDir
from toolkit.io.corpus import DEFAULT_SHARD_SIZE, CorpusWriter
from toolkit.stages import StageSummary

__all__ = ["write_split"]

SIDES = ("kept", "rejected")
SHARD_SIZE = DEFAULT_SHARD_SIZE  # documents per output shard, as every stage writes them


class _JournaledWriter(CorpusWriter):
    """A shard writer that reports each committed shard and can continue after some."""

    def __init__(self, dest: Path, on_shard: Callable[[Path, int], None]) -> None:
        super().__init__(dest, shard_size=SHARD_SIZE, overwrite=True)
        self.on_shard = on_shard

    def continue_after(self, shards: Sequence[Path]) -> None:
        """Take `shards` (full, in order) as already written: numbering goes on after them."""
        self.paths = list(shards)

    def _commit(self) -> None:
        open_shard = self._cm is not None
        count = self._in_shard
        super()._commit()
        if open_shard:
            self.on_shard(self.paths[-1], count)


def _journal(work: WorkDir) -> tuple[Path, dict[str, list[list[Any]]]]:
    path = work.folder("write.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return path, {side: list(data.get(side, [])) for side in SIDES}


def _resumable(out: Path, entries: list[list[Any]], shard_size: int) -> list[list[Any]]:
    """The leading journal entries whose shards are full and unchanged on disk."""
    good: list[list[Any]] = []
    for name, size, docs in entries:
        path = out / name
        if docs != shard_size or not path.is_file() or path.stat().st_size != size:
            break
        good.append([name, size, docs])
    return good


def write_split(
    scans: Sequence[ShardScan],
    held: HeldDocs,
    outcome: Outcome,
    lookup: Lookup,
    out: Path,
    work: WorkDir,
    advance: Callable[[int], None],
) -> tuple[StageSummary, dict[str, int]]:
    """Write out/kept and out/rejected; the summary, and the shards of each side reused."""
    journal_path, journal = _journal(work)
    summary = StageSummary("dedup")
    writers: dict[str, _JournaledWriter] = {}
    skip: dict[str, int] = {}
    reused: dict[str, int] = {}
    for side in SIDES:

        def record(path: Path, count: int, side: str = side) -> None:
            journal[side].append([path.relative_to(out).as_posix(), path.stat().st_size, count])
            work.write_json(journal_path, journal)

        writer = _JournaledWriter(out / side, record)
        journal[side] = _resumable(out, journal[side], writer.shard_size)
        writer.continue_after([out / name for name, _, _ in journal[side]])
        writers[side] = writer
        reused[side] = len(journal[side])
        skip[side] = reused[side] * writer.shard_size
    work.write_json(journal_path, journal)
    try:
        for scan in scans:
            position = scan.start
            for docs in chunks(held.shard(scan), held.budget, 0):
                verdicts = outcome.verdicts(position, position + len(docs), lookup)
                for decision in apply_verdicts(docs, position, verdicts):
                    side = "kept" if decision.kept else "rejected"
                    if decision.kept:
                        summary.kept += 1
                    else:
                        assert decision.reason is not None
                        summary.dropped += 1
                        summary.reasons[decision.reason] += 1
                    if skip[side]:
                        skip[side] -= 1
                        continue
                    doc = decision.doc
                    if not decision.kept:
                        rejected = {"stage": "dedup", "reason": decision.reason, **decision.details}
                        doc = replace(doc, metadata={**doc.metadata, "rejected": rejected})
                    writers[side].write(doc)
                position += len(docs)
                advance(len(docs))
    except BaseException as err:
        for writer in writers.values():
            writer.abort(err)
        raise
    for writer in writers.values():
        writer.close()
    return summary, reused
