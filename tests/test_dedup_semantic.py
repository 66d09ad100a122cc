"""Semantic stage: the bundled MiniLM (loaded once for this module) and the faiss indexes."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import typer

from tests.helpers import run_cli
from toolkit.cli.dedup import dedup_command
from toolkit.dedup import DedupConfig, find_duplicates
from toolkit.dedup.semantic import choose_index, semantic_edges
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache

ORIGINAL = (
    "The assistant explained that it would not delete the backups without asking the owner "
    "first, because the change could not be undone and the owner had said to check."
)
PARAPHRASE = "It asked the owner before removing the backup files because removal is permanent."
UNRELATED = "A cat learned to fly over the mountains at dawn and came home for breakfast."


@pytest.fixture
def dedup_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ccorpus dedup` through the real `main`, until the root app registers it itself."""
    import toolkit.cli.app as root

    if any(c.name == "dedup" for c in root.app.registered_commands):
        return
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("dedup")(dedup_command)
    monkeypatch.setattr(root, "app", app)


def semantic(threshold: float, **kw: object) -> DedupConfig:
    return DedupConfig(stages=("semantic",), semantic_threshold=threshold, quiet=True, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return [Document.create("story", t) for t in (ORIGINAL, PARAPHRASE, UNRELATED)]


def test_paraphrase_caught_at_a_lowered_threshold_and_unrelated_spared(
    tmp_path: Path, docs: list[Document]
) -> None:
    with EmbeddingCache(tmp_path / "cache") as cache:
        outcome = find_duplicates(docs, semantic(0.6), cache=cache)
    (dropped,) = outcome.report["dropped"]
    assert {dropped["position"], dropped["duplicate_of_position"]} == {0, 1}
    assert dropped["stage"] == "semantic" and 0.6 <= dropped["score"] < 0.92
    assert outcome.decisions[2].kept
    with EmbeddingCache(tmp_path / "cache") as cache:
        strict = find_duplicates(docs, semantic(0.92), cache=cache)
    assert strict.report["dropped"] == []
    assert strict.report["stages"]["semantic"]["embedded"] == 0  # all from the cache


def test_cli_semantic_run_caches_under_out(
    tmp_path: Path, docs: list[Document], capsys: pytest.CaptureFixture[str], dedup_cli: None
) -> None:
    from toolkit.io import write_documents

    write_documents(docs, tmp_path / "corpus.jsonl")
    args = ["dedup", str(tmp_path / "corpus.jsonl"), "--out", str(tmp_path / "out")]
    args += ["--stages", "semantic", "--semantic-threshold", "0.6", "--json", "--quiet"]
    first = run_cli(capsys, *args)
    assert first.code == 0, first.err
    assert json.loads(first.out)["kept"] == 2
    assert (tmp_path / "out" / ".ccorpus-cache" / "embeddings" / "embeddings.sqlite3").exists()
    second = json.loads(run_cli(capsys, *args, "--overwrite").out)
    assert second["stages"]["semantic"]["embedded"] == 0


# --- indexes, on synthetic vectors ------------------------------------------


def clustered_vectors(
    groups: int, size: int, dim: int = 16, seed: int = 0
) -> npt.NDArray[np.float32]:
    """`groups` tight clusters of `size` unit vectors (cosine ~0.99 inside, ~0 across)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim))
    points = np.repeat(centres, size, axis=0) + 0.05 * rng.normal(size=(groups * size, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def _pairs(
    vectors: npt.NDArray[np.float32], config: DedupConfig
) -> tuple[set[tuple[int, int]], str]:
    edges, kind = semantic_edges(vectors, config)
    return set(zip(edges.a.tolist(), edges.b.tolist(), strict=True)), kind


@pytest.mark.parametrize("index", ["ivf", "hnsw", "kmeans"])
def test_approximate_indexes_find_what_the_exact_one_finds(index: str) -> None:
    vectors = clustered_vectors(groups=20, size=4)
    exact, kind = _pairs(vectors, semantic(0.9, semantic_index="flat"))
    assert kind == "flat" and len(exact) == 20 * 6
    approx, kind = _pairs(vectors, semantic(0.9, semantic_index=index, neighbours=8))
    assert kind == index
    assert approx == exact


def test_the_flat_index_finds_every_pair_at_the_threshold_and_leaves_faiss_as_it_was() -> None:
    import faiss

    vectors = clustered_vectors(groups=60, size=3, dim=32, seed=1)
    products = vectors @ vectors.T
    threshold = float(np.quantile(products[np.triu_indices(len(vectors), 1)], 0.995))
    want = {(a, b) for a, b in zip(*np.nonzero(np.triu(products >= threshold, 1)), strict=True)}
    before = faiss.cvar.distance_compute_blas_threshold
    found, kind = _pairs(vectors, semantic(threshold, semantic_index="flat"))
    assert kind == "flat" and len(want) > 60
    assert found == {(int(a), int(b)) for a, b in want}  # exact, the threshold included
    assert faiss.cvar.distance_compute_blas_threshold == before  # other searches untouched


def test_index_is_chosen_by_corpus_size() -> None:
    config = semantic(0.9, approx_above=100, cluster_above=1000)
    sizes = (100, 101, 1000, 1001)
    assert [choose_index(n, config) for n in sizes] == ["flat", "ivf", "ivf", "kmeans"]
    forced = semantic(0.9, semantic_index="hnsw")
    assert choose_index(10, forced) == "hnsw"


def test_semantic_chain_is_one_cluster(tmp_path: Path) -> None:
    """A~B and B~C at cos 0.87, A and C at 0.5: still one cluster, one kept."""
    angles = {"a": 0.0, "b": math.pi / 6, "c": math.pi / 3, "far": math.pi / 2 + 0.5}

    def embedder(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.asarray([[math.cos(angles[t]), math.sin(angles[t])] for t in texts], np.float32)

    docs = [Document.create("story", t) for t in angles]
    with EmbeddingCache(tmp_path, "angles", embedder=embedder) as cache:
        outcome = find_duplicates(docs, semantic(0.8), cache=cache)
    (cluster,) = outcome.report["clusters"]
    assert [m["position"] for m in cluster["members"]] == [0, 1, 2]
    assert outcome.report["kept"] == 2
    scores = {d["id"]: d["score"] for d in outcome.report["dropped"]}
    assert sorted(scores.values()) == pytest.approx([0.5, 0.866], abs=1e-3)
