"""The run journal: every result, appended the moment it arrives.

It is the run's source of truth: documents are rebuilt from it and a rerun
skips what it holds, so a paid-for result is never lost or bought twice.
It is a `toolkit.io.jsonl_log` log: each append is flushed and fsynced under
a lock. A process killed mid-append can leave a final line without its
newline; reading ignores it and the next append trims it first, so the file
never holds a broken line in its middle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from toolkit.errors import RecordError
from toolkit.generate.backends.base import GenerationResult
from toolkit.io.jsonl_log import JsonlLog, complete_lines

__all__ = ["Entry", "Journal"]


class Entry(NamedTuple):
    """Where a key's row sits in the journal, and whether it is a success."""

    offset: int
    ok: bool


class Journal:
    """Append-only JSONL of results at `path`.

    Row: key, plan_id, backend, model, mode, ok, text, error, stop_reason,
    usage, ts. Failed results are kept (they say what went wrong) but do not
    count as done, so a rerun retries them.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def append(self, result: GenerationResult, *, plan_id: str, backend: str) -> dict[str, Any]:
        """Write one row durably; return it."""
        row = {
            "key": result.key,
            "plan_id": plan_id,
            "backend": backend,
            "model": result.model,
            "mode": result.mode,
            "ok": result.ok,
            "text": result.text,
            "error": result.error,
            "stop_reason": result.stop_reason,
            "usage": result.usage.to_dict(),
            "ts": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._log.append((json.dumps(row, ensure_ascii=False) + "\n").encode())
        return row

    def _parse(self, raw: bytes, lineno: int) -> dict[str, Any]:
        try:
            row = json.loads(raw)
        except ValueError as err:
            raise RecordError(str(self.path), lineno, f"not a journal row: {err}") from None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise RecordError(str(self.path), lineno, "expected an object with a 'key'")
        return row

    def _scan(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(byte offset, row) of every complete row, streamed; a torn final line is skipped."""
        for offset, lineno, raw in complete_lines(self.path):
            if raw.strip():
                yield offset, self._parse(raw, lineno)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every complete row, oldest first."""
        for _, row in self._scan():
            yield row

    def index(self) -> dict[str, Entry]:
        """Per key, where its successful row is, or else its last failed one.

        Only offsets are kept, so memory grows with the number of keys, not texts.
        """
        best: dict[str, Entry] = {}
        for offset, row in self._scan():
            held = best.get(row["key"])
            if held is None or not held.ok:
                best[row["key"]] = Entry(offset, bool(row.get("ok")))
        return best

    def read(self, entry: Entry) -> dict[str, Any]:
        """The row an `index` entry points at."""
        with self.path.open("rb") as handle:
            handle.seek(entry.offset)
            return self._parse(handle.readline(), 0)

    def completed(self) -> set[str]:
        """Keys that have a successful result."""
        return {key for key, entry in self.index().items() if entry.ok}
