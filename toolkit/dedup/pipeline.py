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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from toolkit.dedup.clusters import Candidate, Drop, Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.decide import StageDecisions, decide_stage
from toolkit.dedup.exact import ExactStage
from toolkit.dedup.lsh import NearStage
from toolkit.dedup.memory import PeakMemory
from toolkit.dedup.outcome import Outcome, apply_verdicts
from toolkit.dedup.report import build_report, snippet
from toolkit.dedup.semantic import SemanticStage
from toolkit.dedup.stream import WORK_DIR, stream_dedup, work_key
from toolkit.dedup.work import WorkDir
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache, default_cache_dir
from toolkit.errors import ConfigError
from toolkit.executor import Executor
from toolkit.io import refuse_existing, require_documents
from toolkit.stages import Decision

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


class DocsLookup:
    """A `Lookup` over documents held in memory."""

    def __init__(self, docs: Sequence[Document]) -> None:
        self.docs = docs

    def ids(self, positions: IntArray) -> list[str]:
        return [self.docs[p].id for p in positions.tolist()]

    def snippets(self, positions: IntArray) -> list[str]:
        return [snippet(self.docs[p].text) for p in positions.tolist()]

    def candidates(self, positions: IntArray) -> list[Candidate]:
        return [Candidate.of(self.docs[p]) for p in positions.tolist()]


def _run_stage(stage: Stage, docs: Sequence[Document], alive: IntArray) -> StageDecisions:
    start = time.perf_counter()
    edges = stage.find([docs[i] for i in alive.tolist()])

    def scores(kept: IntArray, dropped: IntArray) -> FloatArray:
        return stage.scores(np.searchsorted(alive, kept), np.searchsorted(alive, dropped))

    found = Edges(alive[edges.a], alive[edges.b], edges.score)
    decided = decide_stage(stage.name, stage.reason, found, DocsLookup(docs), scores)
    decided.figures = {
        "input": int(alive.shape[0]),
        "dropped": len(decided),
        "clusters": decided.n_clusters,
        "edges": len(edges),
        "seconds": round(time.perf_counter() - start, 3),
        **stage.stats,
    }
    return decided


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
        alive = np.arange(len(docs), dtype=np.int64)
        decided: list[StageDecisions] = []
        for stage in _make_stages(config, cache):
            decided.append(_run_stage(stage, docs, alive))
            alive = np.setdiff1d(alive, decided[-1].position, assume_unique=True)
    finally:
        if own_cache and cache is not None:
            cache.close()
    outcome = Outcome(len(docs), decided)
    lookup = DocsLookup(docs)
    figures = {d.stage: d.figures for d in decided}
    report = build_report(outcome, lookup, config, figures, cache)
    decisions = list(apply_verdicts(docs, 0, outcome.verdicts(0, len(docs), lookup)))
    drops = [
        Drop(
            int(outcome.position[k]),
            int(outcome.keeper[k]),
            entry["stage"],
            entry["reason"],
            entry["score"],
            entry["kept_because"],
            int(outcome.linked_to[k]),
            entry["link_score"],
        )
        for k, entry in enumerate(report["dropped"])
    ]
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
    cache: EmbeddingCache | None = None,
    work_dir: str | Path | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Split `corpus` into `out/kept` and `out/rejected`; write the JSON and Markdown report.

    The corpus is streamed, never held (`toolkit.dedup.stream`): its pieces
    go through a work folder (`work_dir`, default `out/.dedup-work`) sized
    by `config.memory_mb`, and the decisions are those `find_duplicates`
    makes on the same documents. Returns the report less its `dropped` and
    `clusters` lists, which are in the file. The outputs are written inside
    a `StageMarker` (out/stage.json): begun, kept and rejected, the report,
    then complete, so a run killed anywhere leaves outputs that readers
    refuse as incomplete rather than a report that disagrees with them.
    `on_commit` is told each of those steps as it is done ("begun", "split",
    "report", "complete"). A killed run started again with the same
    settings on the same files resumes from its work folder, outputs and
    all; otherwise earlier outputs are refused unless `overwrite`, and an
    empty corpus unless `allow_empty`. The semantic stage embeds through
    `cache` (by default one under `config.cache_dir`, or `out`). `executor`
    scans the input shards (default: in this process; the decisions are the
    same either way).
    """
    config = config or DedupConfig()
    out = Path(out)
    target = Path(report_path) if report_path is not None else out / "dedup_report.json"
    if target.suffix == ".md":
        raise ConfigError(
            f"report: {target} ends in .md; name the JSON report, its Markdown "
            "twin is written beside it"
        )
    outputs = [out / "kept", out / "rejected", target, target.with_suffix(".md")]
    with PeakMemory() as meter:
        own = cache is None and "semantic" in config.stages
        if own:
            cache = EmbeddingCache(
                config.cache_dir or default_cache_dir(out), config.model_name, quiet=config.quiet
            )
        try:
            semantic = "semantic" in config.stages
            model = cache.model_name if semantic and cache is not None else None
            work = WorkDir(work_dir or out / WORK_DIR, work_key(corpus, config, model))
            if not work.holds_own():
                refuse_existing(outputs, overwrite=overwrite)
            require_documents(corpus, allow_empty=allow_empty)  # before any progress bar
            work.open()
            report = stream_dedup(
                corpus,
                out,
                config,
                work=work,
                report_path=target,
                outputs=outputs,
                cache=cache,
                meter=meter,
                on_commit=on_commit,
                executor=executor,
            )
        finally:
            if own and cache is not None:
                cache.close()
    work.remove()
    return report
