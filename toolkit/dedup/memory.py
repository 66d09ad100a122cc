"""How much memory dedup may use, and how much it did.

`Budget` turns the `memory_mb` setting into the sizes of the pieces that
stream through disk. `PeakMemory` measures the resident memory of the
process over a run: the kernel's high-water mark when the run raised it
(exact), else the highest of samples taken every 20 ms (the process had
been higher before the run, so only sampling can see the run's own peak).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["Budget", "PeakMemory", "release_memory", "resident_mb"]

_MIB = 1 << 20
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mb() -> float | None:
    """The process's resident memory now, in MiB (None where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE / _MIB
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc's `malloc_trim`; elsewhere nothing).

    Freed blocks of a finished step otherwise stay resident, so each step's
    peak would start from the high-water mark of the steps before it.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return


def _high_water_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024  # bytes there, KiB here


@dataclass(frozen=True, slots=True)
class Budget:
    """Piece sizes, in bytes or items, that keep each disk-backed step within `memory_mb`.

    Each step holds one piece at a time plus the arrays a sort of it makes
    (about three copies), so pieces get a small share of the bound.
    """

    memory_mb: int

    @property
    def total(self) -> int:
        return self.memory_mb * _MIB

    @property
    def held_bytes(self) -> int:
        """Estimated bytes of documents the first pass may keep for the later ones."""
        return self.total // 4

    @property
    def chunk_bytes(self) -> int:
        """Estimated working bytes of one chunk of documents in the reading passes."""
        return self.total // 8

    @property
    def partition_bytes(self) -> int:
        """Bytes of records in one bucket partition, sorted in memory (about 4x that)."""
        return self.total // 24

    @property
    def buffer_bytes(self) -> int:
        """Bytes buffered across all partition files before they are appended to."""
        return self.total // 16

    @property
    def verify_elements(self) -> int:
        """Shingles gathered at once to verify candidate pairs."""
        return max(1 << 16, self.total // 256)

    @property
    def vector_bytes(self) -> int:
        """Bytes of vectors an in-memory semantic index may hold (with its copy)."""
        return self.total // 2

    @property
    def block_cells(self) -> int:
        """Similarities computed at once within one k-means cluster."""
        return max(1 << 16, min(1 << 24, self.total // 32))


class PeakMemory:
    """Peak resident memory of this process between `__enter__` and `__exit__`, in MiB."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start_mb = 0.0
        self._sampled = 0.0
        self._high_before = 0.0
        self._high_after = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            now = resident_mb()
            if now is not None and now > self._sampled:
                self._sampled = now

    def __enter__(self) -> PeakMemory:
        self._high_before = _high_water_mb()
        now = resident_mb()
        self.start_mb = self._sampled = now if now is not None else self._high_before
        self._thread = threading.Thread(target=self._sample, name="dedup-memory", daemon=True)
        self._thread.start()
        return self

    def read(self) -> float:
        """The peak so far."""
        high = _high_water_mb()
        if high > self._high_before:  # the run set the process's record: the kernel saw it
            return high
        now = resident_mb()
        return max(self._sampled, now if now is not None else 0.0)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._high_after = self.read()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self._high_after if self._stop.is_set() else self.read()

    def figures(self, bound_mb: int, model_mb: float = 0.0) -> dict[str, Any]:
        """The report's `memory` entry: the bound, what the run held, and whether it fit.

        `working_mb` is the peak less what the process held at the start and
        what loading the embedding model took: dedup's own memory.
        """
        peak = self.peak_mb
        working = max(0.0, peak - self.start_mb - model_mb)
        return {
            "bound_mb": bound_mb,
            "peak_mb": round(peak, 1),
            "start_mb": round(self.start_mb, 1),
            "model_mb": round(model_mb, 1),
            "working_mb": round(working, 1),
            "within_bound": working <= bound_mb,
        }
