"""Where the heavy per-shard work runs: in this process, or as tasks on a Ray cluster.

The stages that cost CPU (quality scoring, dedup's first pass) cut their
work into shards or batches and hand them to `Executor.map_shards`, which
yields the results in input order, never in completion order, so a build
writes the same bytes whichever executor ran it. The work function takes a
context (settings, models' names: anything every shard shares, sent to the
cluster once) and one input.

`LocalExecutor` is what runs when nothing else is asked for: a plain loop.
`RayExecutor` starts a local cluster on first use (one CPU a task, the
machine's CPUs, no dashboard, a small object store, usage stats off) or
joins the one `address` names; it keeps at most two tasks a CPU in flight
(memory stays bounded however many shards there are), and a task whose
worker dies is run again (`max_retries`), so a killed worker costs its
shard's work once more, never a lost or doubled shard. An error a task
raises on purpose (a `CorpusError`) reaches the caller as itself.
"""

from __future__ import annotations

import importlib
import os
import re
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from toolkit.errors import ConfigError, CorpusError

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "open_executor"]

EXECUTORS = ("local", "ray")
C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

_OBJECT_STORE_MB = 256  # a local cluster's shared memory: shards pass through it, a few at once
_MAX_RETRIES = 3
_CONNECT_TIMEOUT_S = 5.0  # how long a named cluster's address may take to accept a connection


class Executor(Protocol):
    """Maps a function over shards; `in_process` says whether it shares this process."""

    name: str
    in_process: bool

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        """`fn(context, x)` for each of `inputs`, yielded in input order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a build records of it (name, cluster address)."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Every shard in this process, one after another (what a build does by default)."""

    name = "local"
    in_process = True

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        for item in inputs:
            yield fn(context, item)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


def _package_root() -> str:
    """The folder holding the `toolkit` this process imported: workers import the same."""
    return str(Path(__file__).resolve().parents[1])


class RayExecutor:
    """Shards as Ray tasks; the cluster is started (or joined) on the first map."""

    name = "ray"
    in_process = False

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = _MAX_RETRIES,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self._started = False
        self._window = 2

    def _ray(self) -> Any:
        try:
            ray: Any = importlib.import_module("ray")  # partly typed: used as Any
        except ImportError:
            raise ConfigError(
                "executor ray: Ray is not installed; pip install 'constitution-corpus[ray]'"
            ) from None
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            root = _package_root()
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
            options: dict[str, Any] = {
                "runtime_env": {"env_vars": {"PYTHONPATH": path}},
                "logging_level": "ERROR",
                "log_to_driver": False,
                "include_dashboard": False,
            }
            if self.address is None:
                cpus = self.num_cpus or os.cpu_count() or 1
                options.update(num_cpus=cpus, object_store_memory=_OBJECT_STORE_MB << 20)
            else:
                options.pop("include_dashboard")  # the cluster's own setting
                _reachable(self.address)
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = self.address or "a local cluster"
                raise ConfigError(f"executor ray: cannot start or join {where} ({err})") from None
            self._started = True
        self._window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        return ray

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        ray = self._ray()
        task = ray.remote(num_cpus=1, max_retries=self.max_retries)(fn)
        shared = ray.put(context)
        pending: deque[Any] = deque()
        for item in inputs:
            pending.append(task.remote(shared, item))
            if len(pending) >= self._window:
                yield _result(ray, pending.popleft())
        while pending:
            yield _result(ray, pending.popleft())

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address or "local"}

    def close(self) -> None:
        """Stop the cluster this executor started (a joined one keeps running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def _reachable(address: str, timeout: float = _CONNECT_TIMEOUT_S) -> None:
    """Refuse a `host:port` (or `ray://host:port`) nobody answers on, in one line:
    Ray itself retries an unreachable cluster for minutes. "auto" and other forms
    are left to Ray."""
    match = re.fullmatch(r"(?:ray://)?(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d{1,5})", address)
    if match is None:
        return
    host = match["host"].strip("[]")
    try:
        socket.create_connection((host, int(match["port"])), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(
            f"ray_address {address!r}: no Ray cluster answers there ({reason})"
        ) from None


def _result(ray: Any, ref: Any) -> Any:
    """A task's value; the error it raised, as itself rather than Ray's wrapper."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause
        if isinstance(cause, Exception):
            raise cause from None
        raise
    except ray.exceptions.RayError as err:  # its worker died more often than retried
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CorpusError(f"executor ray: a task failed: {first}") from None


def open_executor(name: str, address: str | None = None) -> Executor:
    """The executor a build or command names ("local" or "ray")."""
    if name == "local":
        if address is not None:
            raise ConfigError("ray_address: needs executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise ConfigError(f"executor: expected one of {', '.join(EXECUTORS)}, got {name!r}")
