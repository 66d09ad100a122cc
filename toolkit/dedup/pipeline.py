"""Run the dedup stages in order; what they share (clusters, keep policy, timing) lives here.

Each stage only finds duplicate edges among the documents still alive and
can score any pair; this module turns edges into clusters, keeps one
document per cluster by `choose_keeper`, and records for every drop what it
duplicated, at which stage, with which similarity. Later stages see only the
survivors of earlier ones. A kept document that won a cluster carries
`metadata["dedup"]` (`toolkit.metadata.DedupMetadata`): its clusters, why it
was kept, and what it was kept over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from toolkit.dedup.clusters import Drop, Edges, FloatArray, IntArray, choose_keeper, components
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.exact import ExactStage
from toolkit.dedup.lsh import NearStage
from toolkit.dedup.report import build_report, write_report
from toolkit.dedup.semantic import SemanticStage
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache, default_cache_dir
from toolkit.errors import ConfigError
from toolkit.io import read_documents, refuse_existing, require_documents
from toolkit.io.marker import StageMarker
from toolkit.metadata import DedupKeptOver, DedupMetadata
from toolkit.progress import progress
from toolkit.stages import Decision, SplitWriter

__all__ = ["DedupOutcome", "Drop", "deduplicate", "find_duplicates"]


class Stage(Protocol):
    name: str
    reason: str
    stats: dict[str, Any]

    def find(self, docs: Sequence[Document]) -> Edges: ...

    def scores(self, a: IntArray, b: IntArray) -> FloatArray: ...


@dataclass
class DedupOutcome:
    """Per-document decisions in corpus order, and the report describing them."""

    decisions: list[Decision]
    report: dict[str, Any]
    drops: list[Drop] = field(default_factory=list)


def _best_links(edges: Edges) -> dict[int, tuple[int, float]]:
    """For each node of a stage, its most similar neighbour among the edges."""
    best: dict[int, tuple[int, float]] = {}
    for x, y, s in zip(edges.a.tolist(), edges.b.tolist(), edges.score.tolist(), strict=True):
        for node, other in ((x, y), (y, x)):
            if node not in best or s > best[node][1]:
                best[node] = (other, s)
    return best


def _survivor(position: int, drops: dict[int, Drop]) -> int:
    """The document that finally stands for `position`, following later-stage drops."""
    while position in drops:
        position = drops[position].kept
    return position


def _run_stage(
    stage: Stage, docs: Sequence[Document], alive: list[int]
) -> tuple[list[Drop], list[dict[str, Any]], dict[str, Any]]:
    start = time.perf_counter()
    subset = [docs[i] for i in alive]
    edges = stage.find(subset)
    links = _best_links(edges)
    clusters: list[dict[str, Any]] = []
    pairs: list[tuple[int, int, str]] = []  # (kept, dropped, why), stage-local positions
    for members in components(len(subset), edges):
        pick, because = choose_keeper([subset[i] for i in members])
        kept = members[pick]
        pairs += [(kept, m, because) for m in members if m != kept]
        clusters.append(
            {
                "stage": stage.name,
                "kept": alive[kept],
                "kept_because": because,
                "members": [alive[m] for m in members],
            }
        )
    kept_ids = np.asarray([p[0] for p in pairs], dtype=np.int64)
    dropped_ids = np.asarray([p[1] for p in pairs], dtype=np.int64)
    scores = stage.scores(kept_ids, dropped_ids).tolist() if pairs else []
    drops = [
        Drop(
            alive[other],
            alive[kept],
            stage.name,
            stage.reason,
            round(score, 4),
            because,
            alive[links[other][0]],
            round(links[other][1], 4),
        )
        for (kept, other, because), score in zip(pairs, scores, strict=True)
    ]
    figures = {
        "input": len(subset),
        "dropped": len(drops),
        "clusters": len(clusters),
        "edges": len(edges),
        "seconds": round(time.perf_counter() - start, 3),
        **stage.stats,
    }
    return drops, clusters, figures


def _keeper_records(
    docs: Sequence[Document],
    drops: Sequence[Drop],
    clusters: Sequence[dict[str, Any]],
    survivors: dict[int, int],
) -> dict[int, DedupMetadata]:
    """`metadata["dedup"]` by corpus position, for every document that kept others out."""
    records: dict[int, DedupMetadata] = {}

    def record(position: int) -> DedupMetadata:
        return records.setdefault(position, {"clusters": [], "kept_over": [], "duplicates": 0})

    for index, cluster in enumerate(clusters):
        record(cluster["kept"])["clusters"].append(
            {
                "stage": cluster["stage"],
                "cluster": index,
                "size": len(cluster["members"]),
                "kept_because": cluster["kept_because"],
            }
        )
    for drop in drops:
        over: DedupKeptOver = {
            "id": docs[drop.position].id,
            "stage": drop.stage,
            "score": drop.score,
        }
        record(drop.kept)["kept_over"].append(over)
        record(survivors[drop.position])["duplicates"] += 1
    return records


def _make_stages(config: DedupConfig, cache: EmbeddingCache | None) -> list[Stage]:
    stages: list[Stage] = []
    for name in config.stages:
        if name == "exact":
            stages.append(ExactStage())
        elif name == "near":
            stages.append(NearStage(config))
        else:
            assert cache is not None
            stages.append(SemanticStage(config, cache))
    return stages


def find_duplicates(
    docs: Sequence[Document], config: DedupConfig, *, cache: EmbeddingCache | None = None
) -> DedupOutcome:
    """Decide, for each document, kept or dropped as a duplicate; nothing is written.

    The semantic stage embeds through `cache` (one is opened under
    `config.cache_dir`, or `.ccorpus-cache/embeddings`, when not given).
    """
    own_cache = cache is None and "semantic" in config.stages
    if own_cache:
        cache = EmbeddingCache(
            config.cache_dir or default_cache_dir(), config.model_name, quiet=config.quiet
        )
    try:
        alive = list(range(len(docs)))
        drops: list[Drop] = []
        clusters: list[dict[str, Any]] = []
        figures: dict[str, dict[str, Any]] = {}
        for stage in _make_stages(config, cache):
            stage_drops, stage_clusters, figures[stage.name] = _run_stage(stage, docs, alive)
            drops += stage_drops
            clusters += stage_clusters
            gone = {d.position for d in stage_drops}
            alive = [i for i in alive if i not in gone]
    finally:
        if own_cache and cache is not None:
            cache.close()
    by_position = {d.position: d for d in drops}
    survivors = {d.position: _survivor(d.position, by_position) for d in drops}
    report = build_report(docs, config, drops, clusters, figures, survivors, cache)
    keepers = _keeper_records(docs, drops, clusters, survivors)
    decisions = []
    for i, doc in enumerate(docs):
        drop = by_position.get(i)
        if drop is None:
            if i in keepers:
                doc = replace(doc, metadata={**doc.metadata, "dedup": keepers[i]})
            decisions.append(Decision(doc))
            continue
        details = {
            "duplicate_of": docs[drop.kept].id,
            "score": drop.score,
            "dedup_stage": drop.stage,
            "kept_because": drop.kept_because,
            "survivor": docs[survivors[i]].id,
        }
        decisions.append(Decision(doc, drop.reason, details))
    return DedupOutcome(decisions, report, drops)


def deduplicate(
    corpus: str | Path,
    out: str | Path,
    config: DedupConfig | None = None,
    *,
    report_path: str | Path | None = None,
    allow_empty: bool = False,
    on_commit: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Split `corpus` into `out/kept` and `out/rejected`; write the JSON and Markdown report.

    Returns the report. The whole corpus is held in memory: every stage
    compares each document with all the others. The outputs are written
    inside a `StageMarker` (out/stage.json): begun, kept and rejected, the
    report, then complete, so a run killed anywhere leaves outputs that
    readers refuse as incomplete rather than a report that disagrees with
    them. `on_commit` is told each of those steps as it is done ("begun",
    "split", "report", "complete"). Earlier outputs are refused unless
    `overwrite`; an empty corpus, unless `allow_empty`.
    """
    config = config or DedupConfig()
    out = Path(out)
    target = Path(report_path) if report_path is not None else out / "dedup_report.json"
    if target.suffix == ".md":
        raise ConfigError(
            f"report: {target} ends in .md; name the JSON report, its Markdown "
            "twin is written beside it"
        )
    markdown = target.with_suffix(".md")
    outputs = [out / "kept", out / "rejected", target, markdown]
    refuse_existing(outputs, overwrite=overwrite)
    require_documents(corpus, allow_empty=allow_empty)  # before any progress bar
    docs = list(progress(read_documents(corpus), description="reading", quiet=config.quiet))
    cache = (
        EmbeddingCache(
            config.cache_dir or default_cache_dir(out), config.model_name, quiet=config.quiet
        )
        if "semantic" in config.stages
        else None
    )
    try:
        outcome = find_duplicates(docs, config, cache=cache)
    finally:
        if cache is not None:
            cache.close()
    marker = StageMarker(out, "dedup", outputs, on_commit=on_commit)
    marker.begin()
    with SplitWriter(out, "dedup") as writer:
        for decision in outcome.decisions:
            writer.write(decision)
    if on_commit is not None:
        on_commit("split")
    report = outcome.report
    report["corpus"] = str(corpus)
    report["out"] = {"kept": str(out / "kept"), "rejected": str(out / "rejected")}
    report["report"] = {"json": str(target), "markdown": str(markdown)}
    write_report(report, target)
    if on_commit is not None:
        on_commit("report")
    marker.complete()
    return report
