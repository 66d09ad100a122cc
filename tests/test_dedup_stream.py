"""Streamed dedup (`deduplicate`) decides exactly as the in-memory `find_duplicates`.

Same kept and rejected documents (with their `metadata["dedup"]` and
`metadata["rejected"]`), same clusters, keepers and report rows, over a
corpus in three shards that exercises the exact, near and semantic stages
and every keep-policy tie, with the pieces that stream through disk at
their default sizes and at sizes small enough to split everything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.dedup_support import config, fake_cache, tricky_documents, write_shards
from toolkit.dedup import DedupConfig, deduplicate, find_duplicates, markdown_report
from toolkit.dedup.memory import Budget
from toolkit.dedup.semantic import choose_index
from toolkit.document import Document
from toolkit.errors import ConfigError
from toolkit.io import read_documents
from toolkit.io.marker import MARKER

DOCS = tricky_documents()


def _fixed(size: int) -> Callable[[Budget], int]:
    def getter(self: Budget) -> int:
        return size

    return getter


@pytest.fixture
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every disk-backed step in the smallest pieces: a part per few documents, many
    partitions, no documents held between passes."""
    for name, size in {
        "chunk_bytes": 6000,
        "partition_bytes": 200,
        "buffer_bytes": 300,
        "verify_elements": 50,
        "held_bytes": 0,
    }.items():
        monkeypatch.setattr(Budget, name, property(_fixed(size)))


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    """The report less what differs between runs (times, cache hits, paths, memory)."""
    skip = {"config", "embedding_cache", "memory", "work", "corpus", "out", "report"}
    data = {k: v for k, v in report.items() if k not in skip}
    data["stages"] = {
        name: {k: v for k, v in figures.items() if k not in ("seconds", "embedded")}
        for name, figures in report["stages"].items()
    }
    return data


def _expected(settings: DedupConfig, tmp: Path) -> tuple[list[Document], list[Document], Any]:
    with fake_cache(tmp / "reference-cache") as cache:
        outcome = find_duplicates(DOCS, settings, cache=cache)
    kept = [d.doc for d in outcome.decisions if d.kept]
    rejected = [
        replace(d.doc, metadata={**d.doc.metadata, "rejected": {**why, **d.details}})
        for d in outcome.decisions
        if not d.kept
        for why in [{"stage": "dedup", "reason": d.reason}]
    ]
    return kept, rejected, outcome.report


@pytest.mark.parametrize("pieces", ["default", "tiny"])
@pytest.mark.parametrize("index", ["auto", "kmeans"])
def test_streamed_dedup_matches_the_in_memory_one(
    tmp_path: Path, request: pytest.FixtureRequest, pieces: str, index: str
) -> None:
    if pieces == "tiny":
        request.getfixturevalue("tiny_pieces")
    settings = config(semantic_index=index)
    kept, rejected, expected = _expected(settings, tmp_path)
    corpus = write_shards(DOCS, tmp_path)
    with fake_cache(tmp_path / "cache") as cache:
        summary = deduplicate(corpus, tmp_path / "out", settings, cache=cache)
    out = tmp_path / "out"
    assert list(read_documents(out / "kept")) == kept
    assert list(read_documents(out / "rejected")) == rejected
    report = json.loads((out / "dedup_report.json").read_text())
    assert _figures(report) == _figures(expected)
    assert (out / "dedup_report.md").read_text() == markdown_report(report)
    assert summary["kept"] == len(kept) and "dropped" not in summary
    # the corpus did exercise what it is meant to
    assert all(report["stages"][s]["dropped"] for s in ("exact", "near", "semantic"))
    assert report["stages"]["semantic"]["index"] == ("flat" if index == "auto" else "kmeans")
    reasons = Counter(c["kept_because"].split(" (")[0] for c in report["clusters"])
    for why in ("accepted review", "highest quality score", "longest text", "smallest id"):
        assert reasons[why], why
    assert any("first in corpus order" in c["kept_because"] for c in report["clusters"])
    assert not (out / ".dedup-work").exists()  # removed once the run is complete
    assert ".dedup-work" not in (out / MARKER).read_text()


def test_report_states_the_bound_and_the_peak(tmp_path: Path) -> None:
    corpus = write_shards(DOCS, tmp_path)
    settings = config(stages=("exact", "near"), memory_mb=64)
    report = deduplicate(corpus, tmp_path / "out", settings)
    memory = report["memory"]
    assert memory["bound_mb"] == 64 and memory["peak_mb"] >= memory["start_mb"] > 0
    assert memory["working_mb"] <= memory["peak_mb"] and memory["within_bound"] is True
    assert json.loads((tmp_path / "out" / "dedup_report.json").read_text())["memory"] == memory


def test_an_index_whose_vectors_exceed_half_the_bound_is_the_k_means_one() -> None:
    small = DedupConfig(memory_mb=16)  # 8 MiB of vectors: 2 x 4 bytes x 384 x 2730
    assert [choose_index(n, small, 384) for n in (2730, 2731)] == ["flat", "kmeans"]
    assert choose_index(2731, DedupConfig(memory_mb=16, semantic_index="ivf"), 384) == "ivf"
    assert choose_index(19_000, DedupConfig(), 384) == "flat"
    assert choose_index(20_001, DedupConfig(), 384) == "ivf"
    with pytest.raises(ConfigError, match=r"memory_mb: expected at least 16 \(MiB\), got 8"):
        DedupConfig(memory_mb=8)


def test_a_corpus_config_sets_the_bound(tmp_path: Path) -> None:
    from tests.test_build import _config
    from toolkit.pipeline import load_build_config

    path = _config(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("[dedup]\n", "[dedup]\nmemory_mb = 256\n"))
    assert load_build_config(path).dedup == DedupConfig(stages=("exact", "near"), memory_mb=256)
    path.write_text(text.replace("[dedup]\n", "[dedup]\nmemory_mb = 4\n"))
    with pytest.raises(ConfigError, match=r"dedup\.memory_mb: expected at least 16"):
        load_build_config(path)
