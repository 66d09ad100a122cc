"""Atomic file writes: a temp file beside the target, fsync, then rename.

A process killed at any moment leaves either the old file or the complete new
one, never a truncated target. Temp files are hidden (leading dot), carry the
writer's PID and end in `.tmp` (`.NAME.PID.tmp`), so corpus readers never
mistake one for a shard and `remove_stale_temps` can tell a dead writer's
leftovers from a live writer's file.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

__all__ = ["atomic_write", "is_temp_name", "remove_stale_temps", "temp_writer_pid"]

TEMP_SUFFIX = ".tmp"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def temp_writer_pid(name: str) -> int | None:
    """The PID in a temp name of `atomic_write` (`.NAME.PID.tmp`), or None for any other name."""
    if not is_temp_name(name):
        return None
    pid = name[: -len(TEMP_SUFFIX)].rpartition(".")[2]
    return int(pid) if pid.isdigit() and int(pid) > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


_STARTED = time.time()  # this process's start, as near as an import gets


def remove_stale_temps(directory: str | Path, *, recursive: bool = True) -> list[Path]:
    """Remove temp files of `atomic_write` whose writer is dead; return what was removed.

    A killed writer leaves `.NAME.PID.tmp` behind for good. The PID tells a
    dead writer (no such process) from a live one, whose file is left alone;
    a file carrying this process's own PID but older than it was left by an
    earlier process that had the same PID (as in containers, where it is
    often 1). Files of any other name are never touched.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    folders = (Path(d) for d, _, _ in os.walk(root)) if recursive else iter([root])
    removed = []
    for folder in folders:
        with os.scandir(folder) as entries:
            for entry in entries:
                pid = temp_writer_pid(entry.name)
                if pid is None or not entry.is_file(follow_symlinks=False):
                    continue
                mine = pid == os.getpid()
                if (entry.stat().st_mtime < _STARTED) if mine else not _alive(pid):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
    return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path, *, compress: bool | None = None) -> Iterator[BinaryIO]:
    """Open `path` for binary writing; it appears only when the block succeeds.

    With `compress` (default: when the name ends in `.zst`) bytes written are
    zstd-compressed. On an exception the temp file is removed and the target
    is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_SUFFIX}")
    if compress is None:
        compress = target.name.endswith(".zst")
    raw = open(temp, "wb")  # noqa: SIM115 - closed below on every path
    try:
        if compress:
            cctx = zstandard.ZstdCompressor(level=3)
            with cctx.stream_writer(raw, closefd=False) as zw:
                yield zw
        else:
            yield raw
        raw.flush()
        os.fsync(raw.fileno())
        raw.close()
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        raw.close()
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
