"""Atomic file writes: a temp file beside the target, fsync, then rename.

A process killed at any moment leaves either the old file or the complete new
one, never a truncated target. Temp files are hidden (leading dot) and end in
`.tmp`, so corpus readers never mistake one for a shard.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

__all__ = ["atomic_write", "is_temp_name"]

TEMP_SUFFIX = ".tmp"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


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
