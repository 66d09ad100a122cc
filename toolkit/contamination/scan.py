"""The check's first pass: each batch's n-gram scan and static retrieval, on the executor.

One task a batch of documents (`scan_task`), through `Executor.map_actors`:
it scans the batch for every unit's n-grams and, with static retrieval,
embeds the batch's sentences with the static model and keeps the batch's
own top-k documents per unit (`retrieval.batch_top_k`). The context (the
n-gram indexes, the units' static vectors, top_k) is sent once; each worker
loads the static model once (`scan_setup`). This process keeps the order:
document keys, counts, and the fold of each batch's top-k into the running
one (`Retrieval.take`), so every executor, this process included, gives the
same hits and nearest documents. MiniLM retrieval reads vectors from this
process's SQLite cache, so it stays here (`Retrieval.add`) and the workers
scan n-grams only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolkit.contamination.hits import Hit
from toolkit.contamination.matches import NgramJob, ngram_task
from toolkit.contamination.retrieval import (
    BatchTopK,
    DocKey,
    Retrieval,
    batch_top_k,
    static_parts,
)
from toolkit.document import Document
from toolkit.embeddings import Embedder
from toolkit.embeddings.static import StaticEmbedder, static_embedder, static_model_name
from toolkit.errors import InputError
from toolkit.executor import Executor

__all__ = ["BATCH_DOCS", "ScanJob", "StaticJob", "batches", "scan_batches", "scan_task"]

#: Documents a task scans (one source's alone).
BATCH_DOCS = 512

Batch = tuple[str, list[Document]]  # (source, documents)


@dataclass(frozen=True)
class StaticJob:
    """What every batch's static retrieval shares: the units' static vectors (the
    query), `top_k`, `min_words`, the model's name, and the embedder (None: the
    bundled static model, which each worker loads for itself)."""

    query: npt.NDArray[np.float32]
    top_k: int
    min_words: int
    name: str
    embedder: Embedder | None = None


@dataclass(frozen=True)
class ScanJob:
    """A task's context: the n-gram scan's, and the static retrieval's unless it is off."""

    ngram: NgramJob
    static: StaticJob | None = None


State = tuple[ScanJob, Embedder | None]  # a worker's: the job, its static embedder


def batches(pairs: Iterable[tuple[str, Document]]) -> Iterator[Batch]:
    """(source, document) pairs cut into batches of `BATCH_DOCS` of one source."""
    source, chunk = "", list[Document]()
    for src, doc in pairs:
        if chunk and (src != source or len(chunk) >= BATCH_DOCS):
            yield source, chunk
            chunk = []
        source = src
        chunk.append(doc)
    if chunk:
        yield source, chunk


def scan_setup(job: ScanJob) -> State:
    """A worker's state: the job and its static embedder, loaded once, quietly, from
    the machine's model folder (distilled there first, offline, where it is not:
    a worker fetches nothing and prints nothing)."""
    static = job.static
    if static is None or static.embedder is not None:
        return job, static.embedder if static is not None else None
    embedder = static_embedder(quiet=True)
    if static_model_name() != static.name:
        raise InputError(
            f"static model: a worker has {static_model_name()}, the check {static.name}; "
            "install the same package versions on every machine of the cluster"
        )
    return job, embedder


def scan_task(state: State, batch: Batch) -> tuple[list[Hit], BatchTopK | None]:
    """One batch's n-gram hits, and its own top-k documents per unit (static retrieval)."""
    job, embedder = state
    hits = ngram_task(job.ngram, batch)
    if job.static is None or embedder is None:
        return hits, None
    static = job.static
    vectors, owner = static_parts(embedder, static.name, batch[1], static.min_words)
    return hits, batch_top_k(static.query, vectors, owner, static.top_k)


def static_job(semantic: Retrieval | None) -> StaticJob | None:
    """The static retrieval the tasks run, or None (no semantic stage, no unit to
    retrieve for, or MiniLM retrieval, which stays in this process)."""
    if semantic is None or semantic.minilm_retrieval or not semantic.texts:
        return None
    embedder = semantic.static.embedder
    own = None if isinstance(embedder, StaticEmbedder) else embedder
    return StaticJob(
        semantic.query, semantic.top_k, semantic.min_words, semantic.static.model_name, own
    )


def scan_batches(
    pairs: Iterable[Batch], job: NgramJob, semantic: Retrieval | None, executor: Executor
) -> Iterator[list[Hit]]:
    """Each batch's n-gram hits, in input order, its static top-k folded into
    `semantic` as it comes back (MiniLM retrieval: added here as it is handed out)."""
    context = ScanJob(job, static_job(semantic))
    keys: deque[list[DocKey]] = deque()

    def handed_out() -> Iterator[Batch]:
        for source, docs in pairs:
            if context.static is not None:
                keys.append([(source, doc.id) for doc in docs])
            elif semantic is not None:
                semantic.add(docs, source)
            yield source, docs

    try:
        for hits, found in executor.map_actors(scan_setup, scan_task, context, handed_out()):
            if semantic is not None and found is not None:
                semantic.take(keys.popleft(), found)
            yield hits
    finally:
        executor.release_actors()  # the static model's workers give their CPUs back
