"""Where the heavy per-shard work runs: in this process, or on a Ray cluster through Ray Data.

The stages that cost CPU (quality scoring, dedup's scan pass, the
contamination check's n-gram scan) cut their work into shards or batches
and hand them to `Executor.map_shards`; work that needs a loaded model
(embedding) goes to `Executor.map_actors`, which loads it once per worker.
Both yield the results in input order, never in completion order, so a
build writes the same bytes whichever executor ran it. The work function
takes a context (settings, models' names: anything every input shares,
sent to the cluster once) and one input.

`LocalExecutor` is what runs when nothing else is asked for: a plain loop.
`RayExecutor` starts a local cluster on first use (the machine's CPUs, no
dashboard, a small object store, usage stats off, logs quiet) or joins the
one `address` names. Shards map with Ray Data (`toolkit.ray_data`): one
task (one CPU) a shard, in windows of inputs so memory stays bounded however
many shards there are. Actor work goes to a pool of one actor a CPU
(`toolkit.ray_actors`) that lasts while the same setup and context keep
coming, so a model loads once per actor for a whole stage, not once per
call; the next shard map or other actor work gets the CPUs back. A task whose worker
dies is run again (`max_retries`), so a killed worker costs its shard's
work once more, never a lost or doubled shard. An error a task raises on
purpose (a `CorpusError`) reaches the caller as itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from toolkit import ray_data
from toolkit.errors import ConfigError
from toolkit.ray_actors import ActorPool

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "open_executor"]

EXECUTORS = ("local", "ray")
C = TypeVar("C")
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

_OBJECT_STORE_MB = 256  # a local cluster's shared memory: shards pass through it, a few at once
_MAX_RETRIES = 3
_WINDOW_PER_CPU = 4  # shards a dataset holds, per CPU of the cluster
_CONNECT_TIMEOUT_S = 5.0  # how long a named cluster's address may take to accept a connection


class Executor(Protocol):
    """Maps a function over shards; `in_process` says whether it shares this process."""

    name: str
    in_process: bool

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        """`fn(context, x)` for each of `inputs`, yielded in input order."""
        ...

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        """`fn(state, x)` for each of `inputs`, in input order, where `state =
        setup(context)` is made once per worker (a model loaded, say). The workers may
        stay for the next call with the same setup and context, until `release_actors`.
        `gpus`: what each worker needs of a GPU (a model on CUDA), where there are any."""
        ...

    def release_actors(self) -> None:
        """Stop the workers `map_actors` set up (a stage is done with its model)."""
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

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        state = setup(context)
        for item in inputs:
            yield fn(state, item)

    def release_actors(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


def _package_root() -> str:
    """The folder holding the `toolkit` this process imported: workers import the same."""
    return str(Path(__file__).resolve().parents[1])


class RayExecutor:
    """Shards as Ray Data tasks or actors; the cluster is started (or joined) on the first map."""

    name = "ray"
    in_process = False

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        max_retries: int = _MAX_RETRIES,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self._started = False
        self._cpus = 1
        self._gpus = 0.0
        self._pool: ActorPool | None = None

    def _ray(self) -> Any:
        try:
            ray: Any = importlib.import_module("ray")  # partly typed: used as Any
        except ImportError:
            raise ConfigError(
                "executor ray: Ray is not installed; pip install 'constitution-corpus[ray]'"
            ) from None
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ notices
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
                if self.num_gpus is not None:  # else Ray counts the machine's own
                    options.update(num_gpus=self.num_gpus)
            else:
                options.pop("include_dashboard")  # the cluster's own setting
                _reachable(self.address)
            try:
                with _fd2_silenced():  # the line Ray's C++ logging prints on start
                    ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = self.address or "a local cluster"
                raise ConfigError(f"executor ray: cannot start or join {where} ({err})") from None
            self._started = True
            ray_data.configure(ray)
        resources = ray.cluster_resources()
        self._cpus = max(1, int(resources.get("CPU", 1)))
        self._gpus = float(resources.get("GPU", 0))
        return ray

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        ray = self._ray()
        self.release_actors()  # tasks need the CPUs an idle pool holds
        apply = ray_data.task_fn(fn, ray.put(context))

        def mapped(dataset: Any, _rows: int) -> Any:
            return dataset.map_batches(
                apply,
                batch_size=1,
                batch_format="pyarrow",
                num_cpus=1,
                max_retries=self.max_retries,
            )

        yield from ray_data.map_rows(ray, inputs, _WINDOW_PER_CPU * self._cpus, mapped)

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        ray = self._ray()
        pool = self._pool
        if pool is None or not pool.serves(setup, fn, context, gpus):
            self.release_actors()
            size = self._cpus
            if gpus > 0:
                size = min(size, int(self._gpus / gpus))
                if size < 1:
                    raise ConfigError(
                        f"executor ray: each worker needs {gpus:g} GPU, the cluster has "
                        f"{self._gpus:g}; run the model on the CPU (CCORPUS_EMBED_DEVICE=cpu)"
                    )
            pool = self._pool = ActorPool(
                ray, setup, fn, context, size=size, gpus=gpus, max_retries=self.max_retries
            )
        yield from pool.map(inputs)

    def release_actors(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address or "local"}

    def close(self) -> None:
        """Stop this executor's actors, and the cluster it started (a joined one keeps running)."""
        loaded: Any = sys.modules.get("ray")
        if self._pool is not None and loaded is not None and loaded.is_initialized():
            self.release_actors()
        self._pool = None
        if self._started:
            loaded.shutdown()
            self._started = False


@contextlib.contextmanager
def _fd2_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block (what native code writes there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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


def open_executor(name: str, address: str | None = None) -> Executor:
    """The executor a build or command names ("local" or "ray")."""
    if name == "local":
        if address is not None:
            raise ConfigError("ray_address: needs executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise ConfigError(f"executor: expected one of {', '.join(EXECUTORS)}, got {name!r}")
