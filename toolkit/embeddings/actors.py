"""Embedding on an executor's workers: the model loads once per worker, the cache stays here.

`embedding_on(cache, executor)` sets the cache's `runner` for a block of
work when the executor is not this process: each batch the cache would
embed goes to `Executor.map_actors`, whose workers build the embedder once
and embed batch after batch; lookups and SQLite writes stay in this
process. The batches are those the cache cuts here, so the vectors are the
same bytes. The bundled MiniLM is sent by the compute path this process
chose (precision and device, as `select_path` resolved them here), so a
worker on another machine computes the vectors the cache's model name says;
any other embedder is sent as itself, so it must pickle (a module-level
function or class does).
"""

from __future__ import annotations

import contextlib
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


def job_for(cache: EmbeddingCache) -> EmbedJob:
    embedder = cache.embedder
    if isinstance(embedder, MiniLM):
        path = select_path(embedder.precision, device=embedder.device)
        precision = "bf16" if path.bf16 else "fp32"
        return EmbedJob(cache.model_name, precision=precision, device=path.device)
    return EmbedJob(cache.model_name, embedder=embedder)


def load(job: EmbedJob) -> tuple[Embedder, str]:
    """A worker's setup: the embedder, loaded (the bundled model's weights read once)."""
    if job.embedder is not None:
        return job.embedder, job.name
    model = MiniLM(job.precision, device=job.device)
    model.prepare(quiet=True)
    return model, job.name


def embed_batch(state: tuple[Embedder, str], texts: Sequence[str]) -> npt.NDArray[np.float32]:
    embedder, name = state
    return embed_checked(embedder, texts, name)


def executor_runner(executor: Executor, job: EmbedJob) -> BatchRunner:
    """Batches embedded by `executor`'s workers, one model per worker, in order."""

    def run(batches: Sequence[Sequence[str]]) -> Iterator[npt.NDArray[np.float32]]:
        return executor.map_actors(load, embed_batch, job, [list(b) for b in batches])

    return run


@contextlib.contextmanager
def embedding_on(cache: EmbeddingCache | None, executor: Executor | None) -> Iterator[None]:
    """Within the block, `cache` embeds on `executor`'s workers, unless the executor
    is this process (or either is None): then nothing changes."""
    if cache is None or executor is None or executor.in_process:
        yield
        return
    previous = cache.runner
    cache.runner = executor_runner(executor, job_for(cache))
    try:
        yield
    finally:
        cache.runner = previous
