"""Quality scoring's work folder: each batch's records, kept as the batch is scored.

`score_corpus` writes every scored batch to `OUT/.scores-work/batches/` as it
arrives from the executor, in one atomic write, so a batch file that exists
is a finished batch. A rerun with the same key (`scores_key`: the corpus
files' contents, the profile, the constitution, the spaCy pipeline,
embeddings on or off, the batch size, the package version) scores only the
batches without a file; another key empties the folder first. The final
scores file is made from the batch files in order, opener shares computed
over all of them, so it is the same bytes as a run never killed.

A batch file holds a header line (its document count and opener keys,
which the shares need before any record is written out), then one record
line per document with `opener_share` still null.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from toolkit import __version__
from toolkit.constitution.model import Constitution
from toolkit.errors import InputError
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import corpus_files
from toolkit.io.workdir import WorkDir, file_digests
from toolkit.quality.profile import Profile
from toolkit.quality.scorer import OpenerKey

__all__ = ["WORK_DIR", "ScoresWork", "scores_key"]

WORK_DIR = ".scores-work"  # beside scores.jsonl; hidden, so no reader takes it for output
WORK_FORMAT = "ccorpus-scores-work/1"


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def scores_key(
    corpus: str | Path,
    profile: Profile,
    constitution: Constitution | None,
    spacy_model: str | None,
    embeddings: bool,
    batch_size: int,
) -> dict[str, Any]:
    """Everything a batch's scores depend on. The corpus counts by content, not by file
    times: a build writes its quality input again, same bytes, before every run."""
    grounding = None
    if constitution is not None:
        cut = constitution.segmentation
        options = dataclasses.asdict(cut.options) if cut is not None else None
        grounding = {"version": constitution.version, "cut": options}
    return {
        "package": __version__,
        "files": file_digests(corpus_files(corpus), Path(corpus)),
        "profile": {
            "path": profile.path,
            "version": profile.version,
            "digest": _digest(dataclasses.asdict(profile)),
        },
        "constitution": grounding,
        "spacy_model": spacy_model,
        "embeddings": embeddings,
        "batch_size": batch_size,
    }


class ScoresWork(WorkDir):
    """The work folder of one scoring run: `batches/NNNNNNNN.jsonl`, one per finished batch."""

    def __init__(self, out: str | Path, key: dict[str, Any]) -> None:
        super().__init__(Path(out) / WORK_DIR, key, format=WORK_FORMAT)

    def batch(self, index: int) -> Path:
        return self.folder("batches", f"{index:08d}.jsonl")

    def finished(self, index: int) -> bool:
        return self.batch(index).is_file()

    def write_batch(self, index: int, records: Sequence[str], openers: Sequence[OpenerKey]) -> None:
        """Batch `index`'s record lines and opener keys, whole or not at all."""
        header = {"documents": len(records), "openers": [[k, list(h)] for k, h in openers]}
        with atomic_write(self.batch(index), compress=False) as handle:
            handle.write((json.dumps(header, separators=(",", ":")) + "\n").encode())
            handle.write("".join(f"{line}\n" for line in records).encode())

    def _header(self, index: int, handle: Any) -> dict[str, Any]:
        try:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or not isinstance(header.get("openers"), list):
                raise ValueError("no header")
        except ValueError:
            raise InputError(
                f"{self.batch(index)}: not a batch of scores; remove {self.root} and rerun"
            ) from None
        return header

    def openers(self, batches: int) -> list[OpenerKey]:
        """The opener key of every document of the first `batches` batches, in order."""
        keys: list[OpenerKey] = []
        for index in range(batches):
            with self.batch(index).open(encoding="utf-8") as handle:
                header = self._header(index, handle)
            keys.extend((str(kind), tuple(hashes)) for kind, hashes in header["openers"])
        return keys

    def records(self, batches: int) -> Iterator[str]:
        """The record lines of the first `batches` batches, in order."""
        for index in range(batches):
            with self.batch(index).open(encoding="utf-8") as handle:
                header = self._header(index, handle)
                lines = [line for line in handle if line.strip()]
            if len(lines) != header.get("documents"):
                raise InputError(
                    f"{self.batch(index)}: {len(lines)} records, not the "
                    f"{header.get('documents')} it announces; remove {self.root} and rerun"
                )
            yield from lines
