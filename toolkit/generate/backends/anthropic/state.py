"""The record of submitted Message Batches that makes batch runs resumable.

A JSON file, rewritten atomically on every change (temp file, fsync, rename),
so a crash leaves either the previous record or the new one. It holds batch
ids, the keys each batch holds with a digest of each request body, the
attempt number and whether the batch was collected: never prompts or keys
of the API.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.io.atomic import atomic_write

__all__ = ["BatchEntry", "BatchState"]

_VERSION = 1


@dataclass(eq=False)
class BatchEntry:
    """One submitted batch; `keys` maps each custom_id to the digest of its body."""

    id: str
    attempt: int
    keys: dict[str, str] = field(default_factory=dict)
    collected: bool = False


class BatchState:
    """Submitted batches, in submission order, mirrored to `path` when one is given."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: list[BatchEntry] = []
        self._owners: dict[str, BatchEntry] = {}
        if self.path is not None and self.path.exists():
            for entry in self._read(self.path):
                self._own(entry)

    def __repr__(self) -> str:
        return f"BatchState({str(self.path)!r}, {len(self.entries)} batches)"

    def owner(self, key: str) -> BatchEntry | None:
        """The latest batch holding `key`, which alone answers for it."""
        return self._owners.get(key)

    def add(self, entry: BatchEntry) -> None:
        self._own(entry)
        self.save()

    def mark_collected(self, entry: BatchEntry) -> None:
        entry.collected = True
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        data = {"version": _VERSION, "batches": [asdict(e) for e in self.entries]}
        with atomic_write(self.path, compress=False) as handle:
            handle.write(json.dumps(data, indent=1, sort_keys=True).encode() + b"\n")

    def _own(self, entry: BatchEntry) -> None:
        self.entries.append(entry)
        for key in entry.keys:
            self._owners[key] = entry

    @staticmethod
    def _read(path: Path) -> list[BatchEntry]:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read the batch state file: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise InputError(f"{path}: not a version {_VERSION} batch state file")
        try:
            return [
                BatchEntry(
                    id=str(raw["id"]),
                    attempt=int(raw["attempt"]),
                    keys={str(k): str(v) for k, v in raw["keys"].items()},
                    collected=bool(raw["collected"]),
                )
                for raw in data["batches"]
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{path}: malformed batch entry ({exc!r})") from None
