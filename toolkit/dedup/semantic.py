"""Semantic stage: documents whose MiniLM embeddings have cosine >= threshold.

Embeddings are L2-normalised, so inner product is cosine. The search grows
with the corpus: an exact `IndexFlatIP` range search while all pairs are
cheap (up to `approx_above` documents); then an inverted-file index
(`IndexIVFFlat`, 4*sqrt(n) lists, 8 probed), whose range search returns
every neighbour above the threshold in the probed lists and, on one CPU,
beat HNSW on all-pairs queries (50k vectors: 5 s against 12-39 s, with full
recall of planted pairs); above `cluster_above`, SemDeDup-style (Abbas et
al. 2023): spherical k-means, then exact similarity within each cluster
only, which misses the rare pair split across two clusters. The k-means
path also takes over, at any size, when the vectors an in-memory index holds
would take more than half of `memory_mb`: it reads one cluster at a time,
so its vectors can stay on disk. HNSW (`IndexHNSWFlat`, k nearest
neighbours) stays available by name.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import faiss
import numpy as np

from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.memory import Budget
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache

__all__ = [
    "SemanticStage",
    "choose_index",
    "edges_of_kind",
    "index_bytes",
    "kmeans_edges",
    "semantic_edges",
]

Matrix = Any  # float32 (n, dim), rows L2-normalised
Rows = Callable[[IntArray], Matrix]  # the vectors at some indexes, in their order
_BLOCK_CELLS = 1 << 21  # similarities computed at once within a cluster (8 MiB)
_ASSIGN_ROWS = 1 << 12  # vectors assigned to their k-means cluster at once
_POINTS_PER_CENTROID = 256  # k-means trains on at most this many vectors per cluster
_MIN_POINTS = 39  # and on at least this many, where there are (faiss's minimum)
_NO_BLAS = 2**31 - 1  # a query count no search reaches (faiss's threshold is a C int)


def index_bytes(n: int, dim: int) -> int:
    """Memory of an in-memory index over n vectors: the vectors and the index's copy."""
    return 2 * n * dim * 4


def choose_index(n: int, config: DedupConfig, dim: int = 384) -> str:
    """`flat`, `ivf` or `kmeans` for n vectors of `dim` (or the kind configured).

    By size first; then an index whose vectors would take more than half of
    `memory_mb` is the k-means one, which holds one cluster at a time.
    """
    if config.semantic_index != "auto":
        return config.semantic_index
    if n > config.cluster_above:
        return "kmeans"
    if index_bytes(n, dim) > Budget(config.memory_mb).vector_bytes:
        return "kmeans"
    return "ivf" if n > config.approx_above else "flat"


def _edges(a: Any, b: Any, score: Any, threshold: float) -> Edges:
    """Keep `a < b` pairs at or above threshold, each once."""
    a, b, score = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(score, np.float32)
    keep = (a >= 0) & (b >= 0) & (a != b) & (score >= threshold)
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs, first = np.unique(np.stack([lo, hi], axis=1), axis=0, return_index=True)
    if pairs.shape[0] == 0:
        return Edges.empty()
    return Edges(pairs[:, 0].copy(), pairs[:, 1].copy(), score[keep][first])


@contextlib.contextmanager
def _without_blas() -> Iterator[None]:
    """faiss's exhaustive search without its BLAS path for the block.

    Above `distance_compute_blas_threshold` queries, a flat range search
    multiplies blocks of 4,096 queries by 1,024 vectors through BLAS: a
    16 MiB block and BLAS's own buffers, 44 MiB over the index at 20,000
    vectors, which took dedup 9% over a 128 MiB bound. The direct loop
    holds about 4 MiB and took 7% longer there."""
    saved = faiss.cvar.distance_compute_blas_threshold
    faiss.cvar.distance_compute_blas_threshold = _NO_BLAS
    try:
        yield
    finally:
        faiss.cvar.distance_compute_blas_threshold = saved


def _flat(vectors: Matrix, threshold: float) -> Edges:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    # faiss keeps results strictly above the radius; filter to >= threshold after
    with _without_blas():
        lims, scores, ids = index.range_search(vectors, float(np.nextafter(threshold, -2.0)))
    queries = np.repeat(np.arange(vectors.shape[0]), np.diff(lims).astype(np.int64))
    return _edges(queries, ids, scores, threshold)


def _ivf(vectors: Matrix, threshold: float) -> Edges:
    n, dim = vectors.shape
    lists = max(1, min(round(4 * math.sqrt(n)), n // 39))  # faiss wants >= 39 points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).permutation(n)[: lists * 64]
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = min(8, lists)
    lims, scores, ids = index.range_search(vectors, float(np.nextafter(threshold, -2.0)))
    queries = np.repeat(np.arange(n), np.diff(lims).astype(np.int64))
    return _edges(queries, ids, scores, threshold)


def _hnsw(vectors: Matrix, threshold: float, k: int) -> Edges:
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = max(64, 2 * k)
    index.add(vectors)
    k = min(k + 1, vectors.shape[0])  # +1: a document finds itself
    scores, ids = index.search(vectors, k)
    queries = np.repeat(np.arange(vectors.shape[0]), k)
    return _edges(queries, ids.ravel(), scores.ravel(), threshold)


def training_points(n: int, dim: int, config: DedupConfig) -> int:
    """Vectors k-means trains on: 256 per centroid, fewer when they would take more
    than a quarter of the vector memory (never fewer than faiss's 39 per centroid)."""
    k = max(1, round(math.sqrt(n)))
    fit = Budget(config.memory_mb).vector_bytes // 4 // (dim * 4)
    return min(n, max(k * _MIN_POINTS, min(k * _POINTS_PER_CENTROID, fit)))


def kmeans_edges(rows: Rows, n: int, dim: int, config: DedupConfig) -> Edges:
    """SemDeDup-style: spherical k-means, then exact similarity within each cluster.

    Vectors are read through `rows` (any of the n, by index): a sample to
    train on, a fixed-size chunk to assign and one cluster to compare at a
    time, so the same calls give the same edges whether the vectors are in
    memory or on disk.
    """
    threshold, seed = config.semantic_threshold, config.seed
    k = max(1, round(math.sqrt(n)))
    kmeans = faiss.Kmeans(dim, k, niter=20, seed=seed, spherical=True, verbose=False)
    points = training_points(n, dim, config)
    sample = np.sort(np.random.default_rng(seed).permutation(n)[:points])
    kmeans.train(np.ascontiguousarray(rows(sample), dtype=np.float32))
    labels = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _ASSIGN_ROWS):
        chunk = np.arange(lo, min(n, lo + _ASSIGN_ROWS))
        _, found = kmeans.index.search(np.ascontiguousarray(rows(chunk), dtype=np.float32), 1)
        labels[lo : lo + chunk.shape[0]] = found.ravel()
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    del labels
    parts: list[tuple[Any, Any, Any]] = []
    for members in np.split(order, bounds):
        block = np.ascontiguousarray(rows(members), dtype=np.float32)
        step = max(1, _BLOCK_CELLS // members.shape[0])  # a huge cluster: fewer rows at once
        for lo in range(0, members.shape[0], step):
            sims = block[lo : lo + step] @ block.T
            r, c = np.nonzero(sims >= threshold)
            keep = members[r + lo] < members[c]
            parts.append((members[r + lo][keep], members[c][keep], sims[r[keep], c[keep]]))
    if not parts:
        return Edges.empty()
    a, b, score = (np.concatenate(p) for p in zip(*parts, strict=True))
    return _edges(a, b, score, threshold)


def edges_of_kind(vectors: Matrix, kind: str, config: DedupConfig) -> Edges:
    """Duplicate edges among normalised `vectors` held in memory, by the index `kind`."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.shape[0] < 2:
        return Edges.empty()
    if kind == "flat":
        return _flat(vectors, config.semantic_threshold)
    if kind == "ivf":
        return _ivf(vectors, config.semantic_threshold)
    if kind == "hnsw":
        return _hnsw(vectors, config.semantic_threshold, config.neighbours)
    n, dim = vectors.shape
    return kmeans_edges(lambda idx: vectors[idx], n, dim, config)


def semantic_edges(vectors: Matrix, config: DedupConfig) -> tuple[Edges, str]:
    """Duplicate edges among normalised `vectors`, and the index kind used."""
    kind = choose_index(vectors.shape[0], config, vectors.shape[1] if vectors.ndim == 2 else 384)
    return edges_of_kind(vectors, kind, config), kind


class SemanticStage:
    """Embed through the cache, then link documents by cosine similarity."""

    name = "semantic"
    reason = "semantic-duplicate"

    def __init__(self, config: DedupConfig, cache: EmbeddingCache) -> None:
        self.config = config
        self.cache = cache
        self.vectors: Matrix = np.zeros((0, 0), np.float32)
        self.stats: dict[str, Any] = {}

    def find(self, docs: Sequence[Document]) -> Edges:
        if len(docs) < 2:  # nothing to compare: do not load the model for it
            self.stats = {"index": "none", "embedded": 0}
            return Edges.empty()
        self.vectors = self.cache.get_or_embed([d.id for d in docs], [d.text for d in docs])
        edges, kind = semantic_edges(self.vectors, self.config)
        self.stats = {
            "index": kind,
            "index_mb": round(index_bytes(*self.vectors.shape) / (1 << 20), 1),
            "embedded": self.cache.last_embedded,
        }
        return edges

    def scores(self, a: IntArray, b: IntArray) -> FloatArray:
        products = np.einsum("ij,ij->i", self.vectors[a], self.vectors[b])
        return np.asarray(products, dtype=np.float32)
