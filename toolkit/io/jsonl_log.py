"""Append-only JSONL logs that survive a kill mid-append.

Each append is one line, written, flushed and fsynced under a lock. A process
killed mid-append can leave a final line without its newline: that line was
never acknowledged, so readers (`complete_lines`) skip it, and the first
append of a log (`JsonlLog.append`) trims it (`repair_torn_tail`) so that the
file never holds a broken line in its middle. The run journal and the cost
ledger of `toolkit.generate` are such logs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["JsonlLog", "complete_lines", "repair_torn_tail"]

_CHUNK = 1 << 16


def repair_torn_tail(path: str | Path) -> bool:
    """Cut a final line left without its newline from the file at `path`, so the
    next line appended starts clean; say whether anything was cut. A missing file
    is left missing (its folder is made, for the first append)."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return False
    with path.open("r+b") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        while position > 0:  # back to the last newline, a chunk at a time
            start = max(0, position - _CHUNK)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                position = start + newline + 1
                break
            position = start
        if position == end:
            return False
        handle.truncate(position)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def complete_lines(path: str | Path) -> Iterator[tuple[int, int, bytes]]:
    """(byte offset, line number from 1, raw line) of every complete line, streamed;
    a torn final line (no newline) is never yielded. Nothing for a missing file."""
    path = Path(path)
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return  # cut short by a crash: never acknowledged
            yield offset, lineno, raw
            offset += len(raw)


class JsonlLog:
    """Durable appends to the log at `path`: its torn tail is repaired once, before
    this object's first append; each line is flushed and fsynced before `append`
    returns. Safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._tail_checked = False

    def append(self, line: bytes) -> None:
        """Append one line (it must end with a newline)."""
        with self._lock:
            if not self._tail_checked:
                repair_torn_tail(self.path)
                self._tail_checked = True
            with self.path.open("ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
