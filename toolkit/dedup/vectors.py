"""Semantic stage of a streamed run: embed the survivors shard by shard, then search them.

The near stage's survivors are embedded through the embedding cache, a
chunk at a time, into one vector file per input shard (in corpus order); a
shard whose `done.json` is written is not read again. The index is the one
`choose_index` picks for their number and size: flat, IVF and HNSW load the
vectors (the memory rule keeps them within half the bound), k-means reads
them from the files one cluster at a time. Either way the calls are those
of the in-memory stage, on the same vectors, so the edges are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.memory import Budget, resident_mb
from toolkit.dedup.scan import HeldDocs, ShardScan
from toolkit.dedup.semantic import choose_index, edges_of_kind, index_bytes, kmeans_edges
from toolkit.dedup.work import WorkDir
from toolkit.embeddings import EmbeddingCache, MiniLM

__all__ = ["VectorFiles", "embed_survivors", "semantic_stage"]

Matrix = npt.NDArray[np.float32]
_MAX_CHUNK = 4096  # texts handed to the cache at once
_PAIRS = 1 << 14  # pairs scored at once


@dataclass(frozen=True)
class VectorFiles:
    """Row-major float32 files holding `counts[i]` vectors of `dim` each, read by row index."""

    paths: Sequence[Path]
    counts: Sequence[int]
    dim: int

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    def rows(self, index: IntArray) -> Matrix:
        """The vectors at `index` (any order), each file mapped only while it is read."""
        out = np.empty((index.shape[0], self.dim), dtype=np.float32)
        starts = np.cumsum([0, *self.counts])
        order = np.argsort(index, kind="stable")
        bounds = np.searchsorted(index[order], starts)
        for k, path in enumerate(self.paths):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if lo == hi:
                continue
            data = np.memmap(path, dtype=np.float32, mode="r", shape=(self.counts[k], self.dim))
            out[order[lo:hi]] = data[index[order[lo:hi]] - starts[k]]
            del data
        return out

    def load(self) -> Matrix:
        return self.rows(np.arange(self.n, dtype=np.int64))


class _Embedder:
    """Texts to the cache in runs cut at multiples of its batch size, across shards.

    The in-memory stage hands the cache every survivor at once, which embeds
    them in batches of `batch_size`; cutting the stream at the same places
    gives the model the same batches, so the vectors (which a model's padding
    and reduced precision make depend, in the last bits, on a text's batch
    mates) are the same too. Each vector goes to its own shard's file.
    """

    def __init__(self, cache: EmbeddingCache, budget: Budget, advance: Callable[[int], None]):
        self.cache = cache
        self.budget = budget
        self.advance = advance
        self.pending: list[tuple[int, str, str]] = []  # (shard, id, text)
        self.size = 0
        self.handles: dict[int, BinaryIO] = {}
        self.counts: dict[int, int] = {}
        self.dim = self.embedded = 0
        self.model_mb = 0.0

    def add(self, shard: int, doc_id: str, text: str) -> None:
        self.pending.append((shard, doc_id, text))
        self.size += 2 * len(text) + 4096  # the text, its vector, the cache's rows
        if self.size >= self.budget.chunk_bytes or len(self.pending) >= _MAX_CHUNK:
            self.flush(final=False)

    def flush(self, final: bool) -> None:
        step = self.cache.batch_size
        cut = len(self.pending) if final else len(self.pending) // step * step
        if cut == 0:
            return
        run, self.pending = self.pending[:cut], self.pending[cut:]
        self.size = sum(2 * len(t) + 4096 for _, _, t in self.pending)
        loads = (  # the model loads in this process (not on a cluster's workers)
            isinstance(self.cache.embedder, MiniLM)
            and not self.cache.embedded
            and self.cache.runner is None
        )
        before = resident_mb() if loads else None
        vectors = self.cache.get_or_embed([i for _, i, _ in run], [t for _, _, t in run])
        if before is not None and self.cache.embedded:
            self.model_mb = max(0.0, (resident_mb() or before) - before)
        self.embedded += self.cache.last_embedded
        self.dim = int(vectors.shape[1])
        owners = np.asarray([shard for shard, _, _ in run])
        for shard in np.unique(owners).tolist():
            rows = np.ascontiguousarray(vectors[owners == shard], dtype=np.float32)
            self.handles[shard].write(rows.tobytes())
            self.counts[shard] = self.counts.get(shard, 0) + rows.shape[0]
        self.advance(cut)

    def waiting(self, shard: int) -> bool:
        return any(owner == shard for owner, _, _ in self.pending)


def embed_survivors(
    scans: Sequence[ShardScan],
    held: HeldDocs,
    alive: npt.NDArray[np.bool_],
    work: WorkDir,
    cache: EmbeddingCache,
    budget: Budget,
    advance: Callable[[int], None],
) -> tuple[VectorFiles, int, float, int]:
    """Vectors of the `alive` documents, shard by shard; how many were embedded (not
    cached), the memory the model took to load (MiB, when it loaded here), and how
    many shards a killed run had embedded already."""
    embedder = _Embedder(cache, budget, advance)
    records: dict[int, dict[str, Any]] = {}
    open_shards: list[int] = []  # read, but with vectors still to come

    def settle(final: bool) -> None:
        embedder.flush(final)
        while open_shards and (final or not embedder.waiting(open_shards[0])):
            index = open_shards.pop(0)
            embedder.handles.pop(index).close()
            records[index] = {"count": embedder.counts.get(index, 0), "dim": embedder.dim}
            work.mark(work.folder("embed", f"{index:05d}"), records[index])

    reused = 0
    try:
        for index, scan in enumerate(scans):
            folder = work.folder("embed", f"{index:05d}")
            found = work.done(folder)
            if found is not None:
                records[index] = found
                reused += 1
                continue
            work.begin(folder)
            embedder.handles[index] = open(folder / "vectors.f32", "wb")  # noqa: SIM115
            open_shards.append(index)
            keep = alive[scan.start : scan.start + scan.docs]
            for local, doc in enumerate(held.shard(scan)):
                if keep[local]:
                    embedder.add(index, doc.id, doc.text)
            settle(final=False)
        settle(final=True)
    finally:
        for handle in embedder.handles.values():
            handle.close()
    paths = [work.folder("embed", f"{i:05d}") / "vectors.f32" for i in range(len(scans))]
    counts = [int(records[i]["count"]) for i in range(len(scans))]
    dim = embedder.dim or max((int(r["dim"]) for r in records.values()), default=0)
    return VectorFiles(paths, counts, dim), embedder.embedded, embedder.model_mb, reused


def semantic_stage(
    vectors: VectorFiles, positions: IntArray, config: DedupConfig
) -> tuple[Edges, dict[str, Any], Callable[[IntArray, IntArray], FloatArray]]:
    """Edges among the survivors at `positions` (corpus order), the stage's figures
    (less `embedded`) and its scoring of (kept, dropped) pairs."""
    n = vectors.n
    kind = choose_index(n, config, vectors.dim)
    held: Matrix | None = None
    if kind == "kmeans":
        local = kmeans_edges(vectors.rows, n, vectors.dim, config)
    else:
        held = vectors.load()
        local = edges_of_kind(held, kind, config)
    rows = vectors.rows if held is None else held.__getitem__

    def scores(kept: IntArray, dropped: IntArray) -> FloatArray:
        a, b = np.searchsorted(positions, kept), np.searchsorted(positions, dropped)
        out = np.empty(a.shape[0], dtype=np.float32)
        for lo in range(0, a.shape[0], _PAIRS):
            products = np.einsum("ij,ij->i", rows(a[lo : lo + _PAIRS]), rows(b[lo : lo + _PAIRS]))
            out[lo : lo + _PAIRS] = products
        return out

    edges = Edges(positions[local.a], positions[local.b], local.score)
    stats = {"index": kind, "index_mb": round(index_bytes(n, vectors.dim) / (1 << 20), 1)}
    return edges, stats, scores
