"""A disk-backed partition: records appended to numbered files, read back one file at a time.

Grouping records by a key (documents by exact hash, LSH band keys into
buckets, candidate pairs by their first document) needs every record of a
group together, not all records at once: records are sent to the file of
their partition, and each file, sized to fit the memory bound, is then
sorted in memory alone. This is a shuffle through the work folder: the
driver writes the partitions, and executor tasks read one each. A task
whose output is partitioned again (candidate pairs, by first document)
writes one `RunFile`, runs of records ordered by partition with an index of
where each partition lies, and the next tasks read their slice of each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Partitions", "RunFile", "partition_count", "read_partition", "read_runs"]


def _path(folder: Path, part: int) -> Path:
    return folder / f"{part:05d}.bin"


def read_partition(folder: Path, part: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Every record of one partition written by `Partitions` under `folder` (in a task)."""
    path = _path(folder, part)
    return np.fromfile(path, dtype=dtype) if path.exists() else np.zeros(0, dtype)


def partition_count(records: int, itemsize: int, partition_bytes: int) -> int:
    """How many partitions keep each one near `partition_bytes` (records spread evenly)."""
    return max(1, math.ceil(records * itemsize / max(1, partition_bytes)))


class Partitions:
    """`count` files of records of one dtype under `folder`, filled through a bounded buffer."""

    def __init__(self, folder: Path, count: int, dtype: npt.DTypeLike, buffer_bytes: int) -> None:
        self.folder = folder
        self.count = count
        self.dtype = np.dtype(dtype)
        self.buffer_bytes = buffer_bytes
        self.records = 0
        self._buffers: dict[int, list[npt.NDArray[Any]]] = {}
        self._buffered = 0
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, part: int) -> Path:
        return _path(self.folder, part)

    def add(self, records: npt.NDArray[Any], parts: npt.NDArray[Any]) -> None:
        """Append each record to the partition named beside it."""
        if records.shape[0] == 0:
            return
        order = np.argsort(parts, kind="stable")
        ordered = records[order]
        bounds = np.searchsorted(parts[order], np.arange(self.count + 1))
        for part in np.flatnonzero(np.diff(bounds)).tolist():
            piece = ordered[bounds[part] : bounds[part + 1]]
            self._buffers.setdefault(part, []).append(piece)
        self.records += records.shape[0]
        self._buffered += ordered.nbytes
        if self._buffered >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        for part, pieces in self._buffers.items():
            with open(self.path(part), "ab") as handle:
                for piece in pieces:
                    handle.write(piece.tobytes())
        self._buffers.clear()
        self._buffered = 0

    def read(self, part: int) -> npt.NDArray[Any]:
        """Every record of one partition, in the order added."""
        self.flush()
        return read_partition(self.folder, part, self.dtype)

    def remove(self) -> None:
        self._buffers.clear()
        for part in range(self.count):
            self.path(part).unlink(missing_ok=True)


class RunFile:
    """One task's records for `count` partitions, in one file `path`.bin (a shuffle's map output).

    Records are buffered up to `buffer_bytes`, each added piece ordered by
    partition (stably), then appended as one run, partition by partition;
    `path`.idx.npy, written by `close`, holds each run's partition bounds.
    The file is started afresh, so a task run again (its worker died)
    replaces what it wrote before.
    """

    def __init__(self, path: Path, count: int, dtype: npt.DTypeLike, buffer_bytes: int) -> None:
        self.data, self.index = _run_paths(path)
        self.count = count
        self.dtype = np.dtype(dtype)
        self.buffer_bytes = buffer_bytes
        self.records = 0
        self._pieces: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64]]] = []
        self._buffered = 0
        self._bounds: list[npt.NDArray[np.int64]] = []
        self.index.unlink(missing_ok=True)
        self.data.write_bytes(b"")

    def add(self, records: npt.NDArray[Any], parts: npt.NDArray[Any]) -> None:
        """Append each record to the partition named beside it."""
        if records.shape[0] == 0:
            return
        order = np.argsort(parts, kind="stable")
        bounds = np.searchsorted(parts[order], np.arange(self.count + 1)).astype(np.int64)
        self._pieces.append((records[order], bounds))
        self._buffered += records.nbytes
        if self._buffered >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._pieces:
            return
        sizes = np.sum([np.diff(bounds) for _, bounds in self._pieces], axis=0)
        with open(self.data, "ab") as handle:
            for part in np.flatnonzero(sizes).tolist():
                for piece, bounds in self._pieces:
                    handle.write(piece[bounds[part] : bounds[part + 1]].tobytes())
        starts = np.zeros(self.count + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        self._bounds.append(starts + self.records)
        self.records += int(starts[-1])
        self._pieces.clear()
        self._buffered = 0

    def close(self) -> None:
        """Write the last run and the index (last: a reader needs both)."""
        self.flush()
        index = np.stack(self._bounds) if self._bounds else np.zeros((0, self.count + 1), np.int64)
        with open(self.index, "wb") as handle:
            np.save(handle, index)


def _run_paths(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + ".bin"), path.with_name(path.name + ".idx.npy")


def read_runs(paths: Sequence[Path], part: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Every record of partition `part` in the `RunFile`s at `paths`, file by file, run by run."""
    dtype = np.dtype(dtype)
    pieces: list[npt.NDArray[Any]] = []
    for path in paths:
        data, index_path = _run_paths(path)
        index = np.load(index_path)
        for lo, hi in index[:, part : part + 2].tolist():
            if hi > lo:
                pieces.append(np.fromfile(data, dtype, count=hi - lo, offset=lo * dtype.itemsize))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype)
