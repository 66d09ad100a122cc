"""What a build remembers between runs: each stage's input key and output digest.

A stage's key is a hash of its settings, the digests of the files it reads
from outside the build, and the output digests of the stages it depends on.
A stage whose key matches the one recorded, and whose outputs are still on
disk, is skipped; downstream keys use recorded digests, so a rerun with
nothing changed reads no corpus at all. The state file is written atomically
after every finished stage, so a failed stage leaves every earlier one
recorded and a rerun resumes at the failure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from toolkit import __version__
from toolkit.errors import InputError
from toolkit.io.atomic import atomic_write, is_temp_name
from toolkit.io.marker import output_problem

__all__ = ["BuildState", "file_digest", "key_of", "tree_digest"]

STATE_VERSION = 1


def key_of(*parts: Any) -> str:
    """A short hash of JSON-able parts (settings, digests, upstream keys) and the tool
    version, so a new release of ccorpus redoes what it may now do differently."""
    blob = json.dumps([__version__, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(paths: Iterable[Path], *, root: Path | None = None) -> str:
    """One digest of files and folders (every file below a folder), by relative path.

    Temporary files of an interrupted write and lock files are left out; a
    missing path counts as missing, so its appearance changes the digest.
    """
    digest = hashlib.sha256()
    for path in paths:
        base = root or path.parent
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            digest.update(f"missing:{path.name}\n".encode())
            continue
        for file in files:
            if is_temp_name(file.name) or file.name == ".lock" or ".cache" in file.parts:
                continue
            rel = file.relative_to(base) if file.is_relative_to(base) else file
            digest.update(f"{rel}\0{file_digest(file)}\n".encode())
    return digest.hexdigest()[:20]


class BuildState:
    """`build.json`: per stage, the key it ran with, its output digest and figures."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stages: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise InputError(
                    f"{path}: unreadable build state ({err}); delete it to rebuild"
                ) from None
            if data.get("version") == STATE_VERSION and isinstance(data.get("stages"), dict):
                self.stages = data["stages"]

    def fresh(self, stage: str, key: str, outputs: Iterable[Path]) -> bool:
        """Whether `stage` already ran with `key` and its outputs are all there, whole.

        An output whose stage marker says its run did not finish, or whose
        files changed since, is as good as gone: the stage runs again.
        """
        entry = self.stages.get(stage)
        if not entry or entry.get("key") != key:
            return False
        try:
            return all(p.exists() and output_problem(p) is None for p in outputs)
        except InputError:  # an unreadable marker: run the stage again to replace it
            return False

    def digest(self, stage: str) -> str:
        """The recorded output digest of a finished stage."""
        return str(self.stages[stage]["digest"])

    def figures(self, stage: str) -> dict[str, Any]:
        entry = self.stages.get(stage)
        return dict(entry.get("figures", {})) if entry else {}

    def record(
        self,
        stage: str,
        key: str,
        digest: str,
        figures: dict[str, Any],
        executor: dict[str, Any] | None = None,
    ) -> None:
        """Remember a finished stage (and the executor its heavy work ran on, if any)
        and write the state file at once."""
        self.stages[stage] = {"key": key, "digest": digest, "figures": figures}
        if executor is not None:
            self.stages[stage]["executor"] = executor
        self.save()

    def forget(self, stage: str) -> None:
        if self.stages.pop(stage, None) is not None:
            self.save()

    def save(self) -> None:
        data = {"version": STATE_VERSION, "tool": __version__, "stages": self.stages}
        blob = json.dumps(data, indent=2, sort_keys=True) + "\n"
        if self.path.is_file() and self.path.read_text(encoding="utf-8") == blob:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, compress=False) as out:
            out.write(blob.encode())
