"""Dedup of a corpus on disk, never held in memory: three passes through a work folder.

(a) `scan`: each input shard is read once, in chunks, and what the stages
compare is written per shard. (b) Each stage in turn: exact keys and LSH
band keys are grouped through disk partitions (`buckets`; each partition
a task of the executor, as each shard of the scan is), the survivors of
the near stage are embedded shard by shard and searched (`vectors`; on a
cluster executor the model runs on its workers, `embeddings.actors`), and
edges become clusters, keepers and drops as in the in-memory path
(`decide`). (c) `write`: the corpus is streamed again into kept/ and
rejected/, and the report is written row by row. Pieces are sized from
`memory_mb`; what stays in memory besides is 5 bytes a document and about
180 a duplicate (README, "Scaling").

Every piece of work is marked complete in the work folder when done (a
shard scanned or embedded, a stage decided, an output shard written), so a
run killed at any point and started again redoes only what was not marked.
The folder is keyed by the settings and the input files; it is removed
when the run completes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.dedup.buckets import exact_edges, near_edges, store_jaccard
from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.decide import StageDecisions, decide_stage
from toolkit.dedup.memory import Budget, PeakMemory, release_memory
from toolkit.dedup.outcome import Outcome
from toolkit.dedup.report import report_head, report_tail, stream_report
from toolkit.dedup.scan import HeldDocs, ShardScan, scan_corpus
from toolkit.dedup.vectors import embed_survivors, semantic_stage
from toolkit.dedup.work import Names, Store, WorkDir
from toolkit.dedup.write import write_split
from toolkit.embeddings import EmbeddingCache
from toolkit.embeddings.actors import embedding_on
from toolkit.executor import Executor, LocalExecutor
from toolkit.io import corpus_files
from toolkit.io.marker import StageMarker
from toolkit.progress import step

__all__ = ["WORK_DIR", "stream_dedup", "work_key"]

WORK_DIR = ".dedup-work"  # under the output folder; hidden, so no reader takes it for output
REASONS = {"exact": "exact-duplicate", "near": "near-duplicate", "semantic": "semantic-duplicate"}
Scores = Callable[[IntArray, IntArray], FloatArray]


def work_key(corpus: str | Path, config: DedupConfig, model: str | None) -> dict[str, Any]:
    """Everything the work folder's contents depend on: the settings and the input files."""
    files = corpus_files(corpus)
    settings = dataclasses.asdict(config)
    for name in ("quiet", "cache_dir"):
        settings.pop(name)
    settings["stages"] = list(config.stages)
    return {
        "settings": settings,
        "model": model,
        "files": [[str(f.absolute()), f.stat().st_size, f.stat().st_mtime_ns] for f in files],
    }


def _save(work: WorkDir, decided: StageDecisions) -> None:
    folder = work.begin(work.folder("decide", decided.stage))
    with open(folder / "arrays.npz", "wb") as handle:
        np.savez(handle, allow_pickle=False, **decided.arrays())
    meta = {"reasons": decided.reasons, "figures": decided.figures, "reason": decided.reason}
    work.mark(folder, meta)


def _load(work: WorkDir, stage: str) -> StageDecisions | None:
    folder = work.folder("decide", stage)
    meta = work.done(folder)
    if meta is None:
        return None
    with np.load(folder / "arrays.npz") as arrays:
        fields = {name: arrays[name] for name in arrays.files}
    return StageDecisions(
        stage=stage,
        reason=meta["reason"],
        reasons=meta["reasons"],
        figures=meta["figures"],
        **fields,
    )


class _Run:
    """One streamed run's state between its passes."""

    def __init__(
        self,
        config: DedupConfig,
        work: WorkDir,
        scans: list[ShardScan],
        cache: EmbeddingCache | None,
        held: HeldDocs,
        executor: Executor,
    ) -> None:
        self.held = held
        self.executor = executor
        self.config = config
        self.work = work
        self.scans = scans
        self.cache = cache
        self.budget = Budget(config.memory_mb)
        self.store = Store([part for scan in scans for part in scan.parts])
        self.model_mb = 0.0
        self.embeds_reused = 0

    def _bar(self, description: str, total: int | None = None) -> Any:
        return step(f"dedup: {description}", total=total, quiet=self.config.quiet)

    def edges(self, stage: str, alive: np.ndarray) -> tuple[Edges, dict[str, Any], Scores]:
        config, store, budget = self.config, self.store, self.budget
        if stage == "exact":
            with self._bar("exact buckets") as bar:
                edges, stats = exact_edges(store, alive, self.work, budget, bar, self.executor)
            return edges, stats, lambda a, b: np.ones(a.shape[0], np.float32)
        if stage == "near":
            with self._bar("near buckets and pairs") as bar:
                edges, stats = near_edges(
                    store, alive, config, self.work, budget, bar, self.executor
                )
            return edges, stats, lambda a, b: store_jaccard(store, a, b, budget)
        positions = np.flatnonzero(alive).astype(np.int64)
        if positions.shape[0] < 2:  # nothing to compare: do not load the model for it
            return Edges.empty(), {"index": "none", "embedded": 0}, _no_scores
        assert self.cache is not None
        with self._bar("embedding survivors", int(positions.shape[0])) as bar:
            vectors, embedded, self.model_mb, self.embeds_reused = embed_survivors(
                self.scans, self.held, alive, self.work, self.cache, budget, bar.advance
            )
        edges, stats, scores = semantic_stage(vectors, positions, config)
        return edges, {**stats, "embedded": embedded}, scores

    def decide(self) -> tuple[Outcome, int]:
        """Every stage's decisions, loaded when a killed run finished them; how many were."""
        alive = np.ones(self.store.documents, dtype=np.bool_)
        decided: list[StageDecisions] = []
        loaded = 0
        for stage in self.config.stages:
            found = _load(self.work, stage)
            if found is None:
                start = time.perf_counter()
                edges, stats, scores = self.edges(stage, alive)
                found = decide_stage(stage, REASONS[stage], edges, self.store, scores)
                found.figures = {
                    "input": int(alive.sum()),
                    "dropped": len(found),
                    "clusters": found.n_clusters,
                    "edges": len(edges),
                    "seconds": round(time.perf_counter() - start, 3),
                    **stats,
                }
                _save(self.work, found)
                release_memory()
            else:
                loaded += 1
            decided.append(found)
            alive[found.position] = False
        return Outcome(self.store.documents, decided), loaded


def _no_scores(a: IntArray, b: IntArray) -> FloatArray:
    return np.zeros(a.shape[0], np.float32)


def stream_dedup(
    corpus: str | Path,
    out: Path,
    config: DedupConfig,
    *,
    work: WorkDir,
    report_path: Path,
    outputs: list[Path],
    cache: EmbeddingCache | None,
    meter: PeakMemory,
    on_commit: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run the three passes; write outputs inside a `StageMarker`; return the report
    less its `dropped` and `clusters` lists (those are in the file). The first
    pass's shards are scanned, the second's partitions grouped, and the
    survivors embedded, by `executor` (default: in this process)."""
    files = corpus_files(corpus)
    budget = Budget(config.memory_mb)
    held = HeldDocs(budget)
    with step("dedup: reading", quiet=config.quiet) as bar:
        scans, rescanned = scan_corpus(files, work, config, held, bar.advance, executor)
    release_memory()
    run = _Run(config, work, scans, cache, held, executor or LocalExecutor())
    with embedding_on(cache, executor):
        outcome, loaded = run.decide()
    lookup = Names(run.store, np.concatenate([outcome.position, outcome.cluster_kept]))
    marker = StageMarker(out, "dedup", outputs, on_commit=on_commit)
    marker.begin()
    total = run.store.documents
    with step("dedup: writing", total=total, quiet=config.quiet) as bar:
        summary, reused = write_split(scans, held, outcome, lookup, out, work, bar.advance)
    if on_commit is not None:
        on_commit("split")
    figures = {d.stage: d.figures for d in outcome.stages}
    head = report_head(outcome, figures)
    tail = report_tail(outcome, config, cache)
    tail["memory"] = meter.figures(config.memory_mb, run.model_mb)
    tail["work"] = {
        "path": str(work.root),
        "disk_mb": work.disk_mb(),
        "resumed": {
            "shards_scanned": len(scans) - rescanned,
            "shards_embedded": run.embeds_reused,
            "stages_decided": loaded,
            "output_shards": reused,
        },
    }
    tail["corpus"] = str(corpus)
    tail["out"] = {"kept": str(out / "kept"), "rejected": str(out / "rejected")}
    tail["report"] = {"json": str(report_path), "markdown": str(report_path.with_suffix(".md"))}
    assert summary.kept == head["kept"], "the written split disagrees with the decisions"
    stream_report(report_path, outcome, lookup, head, tail)
    if on_commit is not None:
        on_commit("report")
    marker.complete()
    return {**head, **tail}
