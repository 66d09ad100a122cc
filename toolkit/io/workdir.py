"""Work folders: what a long run has finished so far, kept so that a killed run resumes.

A run that cuts its work into pieces (dedup's shards and passes, quality
scoring's batches) writes each piece into a hidden folder beside its outputs,
`.NAME-work`, and marks it complete last. The folder belongs to one key,
everything its contents depend on (settings, input files): a rerun with the
same key keeps what was marked and redoes the rest; another key empties it.
The run removes the folder once its outputs are written, so a folder found
later is always a killed run's, and a build clearing a stage's outputs
before rerunning it leaves the folder for the rerun to judge by its key.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from toolkit.io.atomic import atomic_write, remove_stale_temps

__all__ = ["DONE", "WorkDir", "file_digests", "is_work_folder"]

DONE = "done.json"
KEY_FILE = "key.json"
_CHUNK = 1 << 20


def is_work_folder(path: Path) -> bool:
    """Whether `path` is a run's work folder (`.NAME-work`, a directory)."""
    return path.name.startswith(".") and path.name.endswith("-work") and path.is_dir()


def file_digests(files: Sequence[Path], root: Path) -> list[list[Any]]:
    """Each file's path relative to `root`, size and SHA-256: its identity by content,
    which a rewrite of the same bytes (as a build does of its stage inputs) keeps."""
    found: list[list[Any]] = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        name = file.relative_to(root).as_posix() if file != root else file.name
        found.append([name, file.stat().st_size, digest.hexdigest()])
    return found


class WorkDir:
    """A work folder keyed by everything its contents depend on.

    `format` names what the folder holds (one kind of run's layout); a folder
    of another format or key is emptied by `open`, which then sets `replaced`.
    """

    def __init__(self, root: str | Path, key: dict[str, Any], *, format: str) -> None:
        self.root = Path(root)
        self.format = format
        self.key = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        self.resumed = False
        self.replaced = False

    def holds_own(self) -> bool:
        """Whether the folder holds work of this very key (a run of it was killed)."""
        try:
            found = json.loads((self.root / KEY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(found == {"format": self.format, "key": self.key})

    def open(self) -> Self:
        """Keep the folder when it holds this key's work; else empty it and claim it."""
        if self.holds_own():
            self.resumed = True
            remove_stale_temps(self.root)  # what a killed writer left half written
            return self
        self.replaced = self.root.exists()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.write_json(self.root / KEY_FILE, {"format": self.format, "key": self.key})
        return self

    def folder(self, *names: str) -> Path:
        return self.root.joinpath(*names)

    def done(self, folder: Path) -> dict[str, Any] | None:
        """The completion record of a folder of work, or None when it is not complete."""
        try:
            data = json.loads((folder / DONE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def begin(self, folder: Path) -> Path:
        """An empty folder for a piece of work (what a killed run left there is removed)."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def mark(self, folder: Path, record: dict[str, Any]) -> None:
        self.write_json(folder / DONE, record)

    @staticmethod
    def write_json(path: Path, data: Any) -> None:
        with atomic_write(path, compress=False) as handle:
            handle.write(json.dumps(data).encode())

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def disk_mb(self) -> float:
        total = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        return round(total / (1 << 20), 1)
