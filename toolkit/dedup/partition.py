"""A disk-backed partition: records appended to numbered files, read back one file at a time.

Grouping records by a key (documents by exact hash, LSH band keys into
buckets, candidate pairs by their first document) needs every record of a
group together, not all records at once: records are sent to the file of
their partition, and each file, sized to fit the memory bound, is then
sorted in memory alone. On a cluster the same split is a shuffle.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Partitions", "partition_count"]


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
        self.largest = 0  # records in the fullest partition, once read
        self._buffers: dict[int, list[npt.NDArray[Any]]] = {}
        self._buffered = 0
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, part: int) -> Path:
        return self.folder / f"{part:05d}.bin"

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
        path = self.path(part)
        data = np.fromfile(path, dtype=self.dtype) if path.exists() else np.zeros(0, self.dtype)
        self.largest = max(self.largest, int(data.shape[0]))
        return data

    def remove(self) -> None:
        self._buffers.clear()
        for part in range(self.count):
            self.path(part).unlink(missing_ok=True)
