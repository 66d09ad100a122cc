"""Peak resident memory of a process and of every process under it, read from /proc.

A Ray run's memory is spread over processes the driver starts: the raylet
and GCS server, and the worker processes the raylet forks (their titles
start with `ray::`). The kernel keeps each process's high-water mark
(`VmHWM` in /proc/PID/status), so a sampler need not catch the moment of a
peak, only see each process once before it exits: `TreeMemory` walks the
tree every `interval` seconds from outside the measured processes (it costs
them nothing) and keeps, per process, its role, its high-water mark and the
resident memory it had at `mark()` (or when first seen after it), to tell
a task's own memory from what the process held before. A worker started
after the mark (an actor) is first seen while it starts, before Ray and the
toolkit are imported, so it counts from what the workers at the mark held
then (their median), unless it was seen holding more. No psutil: /proc only (Linux).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["ProcessPeak", "TreeMemory", "role_of"]

_KIB_PER_MIB = 1024


@dataclass
class ProcessPeak:
    """One process's memory as sampled, in MiB: its high-water mark, and its resident
    memory at the mark (or when first seen after it)."""

    pid: int
    role: str  # "driver", "worker" or "ray" (Ray's own servers and agents)
    title: str
    peak_mb: float
    first_mb: float
    at_mark: bool = False  # alive at `mark()`: `first_mb` is what it held then


def role_of(cmdline: str) -> str:
    """`worker` for a Ray worker process (by its title or script), else `ray`."""
    return "worker" if cmdline.startswith("ray::") or "default_worker.py" in cmdline else "ray"


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible now."""
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone since listed
        fields = stat[stat.rfind(b")") + 2 :].split()  # the name may hold spaces
        out[int(name)] = int(fields[1])
    return out


def _status(pid: int) -> tuple[float, float] | None:
    """(VmHWM, VmRSS) of `pid` in MiB, or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    values = {
        key: int(rest.split()[0]) / _KIB_PER_MIB
        for key, _, rest in (line.partition(":") for line in lines)
        if key in ("VmHWM", "VmRSS")
    }
    if "VmHWM" not in values:
        return None  # a zombie has no memory left to read
    return values["VmHWM"], values.get("VmRSS", 0.0)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


class TreeMemory:
    """Samples `root` and its descendants until closed; `figures()` sums them up."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        self.root = root
        self.interval = interval
        self.processes: dict[int, ProcessPeak] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def mark(self) -> None:
        """From now on `first_mb` is each process's resident memory now."""
        with self._lock:
            self._sample()
            for pid, process in self.processes.items():
                status = _status(pid)
                if status is not None:
                    process.first_mb = status[1]
                    process.at_mark = True

    def sample(self) -> None:
        """Read every process under `root` (and `root`) once."""
        with self._lock:
            self._sample()

    def _sample(self) -> None:
        parents = _parents()
        children: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        todo = [self.root]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, ()))
            status = _status(pid)
            if status is None:
                continue
            peak, rss = status
            seen = self.processes.get(pid)
            if seen is None:
                title = _cmdline(pid)
                role = "driver" if pid == self.root else role_of(title)
                self.processes[pid] = ProcessPeak(pid, role, title[:80], peak, rss)
            else:
                seen.peak_mb = max(seen.peak_mb, peak)
                if seen.role == "ray":  # seen between a fork and its exec: look again
                    title = _cmdline(pid)
                    seen.role, seen.title = role_of(title), title[:80]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, Any]:
        """Per role: how many processes, the largest and the summed high-water marks;
        and the most any grew over its size at the mark."""
        out: dict[str, Any] = {}
        for role in ("driver", "worker", "ray"):
            peaks = [p for p in self.processes.values() if p.role == role]
            marked = sorted(p.first_mb for p in peaks if p.at_mark)
            started = marked[len(marked) // 2] if marked else 0.0  # a started one's size

            def start(p: ProcessPeak, started: float = started) -> float:
                return p.first_mb if p.at_mark else max(p.first_mb, started)

            out[role] = {
                "processes": len(peaks),
                "max_peak_mb": round(max((p.peak_mb for p in peaks), default=0.0), 1),
                "sum_peak_mb": round(sum(p.peak_mb for p in peaks), 1),
                "max_over_first_mb": round(
                    max((p.peak_mb - start(p) for p in peaks), default=0.0), 1
                ),
            }
        return out
