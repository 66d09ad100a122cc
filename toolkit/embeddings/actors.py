"""Embedding on an executor's workers: the model loads once per worker, the cache stays here.

`embedding_on(cache, executor)` sets the cache's `runner` for a block of
work when the executor is not this process: each batch the cache would
embed goes to `Executor.map_actors`, whose workers build the embedder once
and embed batch after batch; lookups and SQLite writes stay in this
process. The batches are those the cache cuts here, so the vectors are the
same bytes. The bundled MiniLM is sent by the compute path this process
chose (precision and device, as `select_path` resolved them here), so a
worker on another machine computes the vectors the cache's model name says.
On a CPU's bf16 path the vectors also depend on torch's thread count (the
AMX kernels split their sums by it: one text in a hundred moves by 1e-4),
and Ray starts a worker of one CPU with one thread, so the worker takes
this process's count and its vectors are the bytes this process would write;
any other embedder is sent as itself, so it must pickle (a module-level
function or class does).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolkit.embeddings.cache import BatchRunner, EmbeddingCache
from toolkit.embeddings.embedder import Embedder, embed_checked
from toolkit.embeddings.model import MiniLM, select_path
from toolkit.executor import Executor

__all__ = ["EmbedJob", "embedding_on", "executor_runner"]


@dataclass(frozen=True)
class EmbedJob:
    """What a worker needs to embed: the embedder (or the bundled model's path), the name."""

    name: str
    embedder: Embedder | None = None  # None: the bundled MiniLM on `precision`, `device`
    precision: str = "fp32"
    device: str = "cpu"
    threads: int | None = None  # torch's intra-op threads, where they change the vectors

    @property
    def gpus(self) -> float:
        """A worker's share of a GPU: one for the bundled model on CUDA."""
        return 1.0 if self.embedder is None and self.device == "cuda" else 0.0


def job_for(cache: EmbeddingCache) -> EmbedJob:
    embedder = cache.embedder
    if isinstance(embedder, MiniLM):
        path = select_path(embedder.precision, device=embedder.device)
        precision = "bf16" if path.bf16 else "fp32"
        threads = _torch_threads() if path.bf16 and path.device == "cpu" else None
        return EmbedJob(cache.model_name, precision=precision, device=path.device, threads=threads)
    return EmbedJob(cache.model_name, embedder=embedder)


def _torch_threads() -> int:
    return int(importlib.import_module("torch").get_num_threads())


def load(job: EmbedJob) -> tuple[Embedder, str]:
    """A worker's setup: the embedder, loaded (the bundled model's weights read once)."""
    if job.embedder is not None:
        return job.embedder, job.name
    if job.threads is not None:
        importlib.import_module("torch").set_num_threads(job.threads)
    model = MiniLM(job.precision, device=job.device)
    model.prepare(quiet=True)
    return model, job.name


def embed_batch(state: tuple[Embedder, str], texts: Sequence[str]) -> npt.NDArray[np.float32]:
    embedder, name = state
    return embed_checked(embedder, texts, name)


def executor_runner(executor: Executor, job: EmbedJob) -> BatchRunner:
    """Batches embedded by `executor`'s workers, one model per worker, in order."""

    def run(batches: Sequence[Sequence[str]]) -> Iterator[npt.NDArray[np.float32]]:
        texts = [list(b) for b in batches]
        return executor.map_actors(load, embed_batch, job, texts, gpus=job.gpus)

    return run


@contextlib.contextmanager
def embedding_on(cache: EmbeddingCache | None, executor: Executor | None) -> Iterator[None]:
    """Within the block, `cache` embeds on `executor`'s workers, the model loaded once
    per worker for the whole block, unless the executor is this process (or either
    is None): then nothing changes."""
    if cache is None or executor is None or executor.in_process:
        yield
        return
    previous = cache.runner
    cache.runner = executor_runner(executor, job_for(cache))
    try:
        yield
    finally:
        cache.runner = previous
        executor.release_actors()  # the model's workers give their CPUs back
