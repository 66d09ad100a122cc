"""dedup: exact, near and semantic duplicates out of the quality-kept corpus."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.io import read_documents
from toolkit.pipeline import steps
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, pick, ran, snippet
from toolkit.pipeline.stages.base import Stage, metadata_written_by
from toolkit.svg import bar_chart

__all__ = ["Dedup"]

TOP_CLUSTERS = 5


def _texts(paths: Sequence[Path], wanted: set[str]) -> dict[str, str]:
    """Texts of the `wanted` ids, reading only until all are found."""
    found: dict[str, str] = {}
    for path in (p for p in paths if p.exists()):
        for doc in read_documents(path):
            if doc.id in wanted and doc.id not in found:
                found[doc.id] = doc.text
                if len(found) == len(wanted):
                    return found
    return found


def _figures(layout: BuildLayout, _: Sequence[str]) -> dict[str, Any]:
    report = load_json(layout.dedup / "dedup_report.json")
    if report is None:
        return dict(NOT_RUN)
    stages = {
        name: {"input": s["input"], "kept": s["input"] - s["dropped"], "dropped": s["dropped"]}
        for name, s in report.get("stages", {}).items()
    }
    clusters = report.get("clusters", [])
    top = sorted(clusters, key=lambda c: (-c["size"], c["kept_position"]))[:TOP_CLUSTERS]
    dedup = layout.dedup
    texts = _texts([dedup / "kept", dedup / "rejected"], {c["kept"] for c in top})
    rows = []
    for c in top:
        member = next((m["snippet"] for m in c["members"] if m["id"] == c["kept"]), "")
        dropped = sorted(m["id"] for m in c["members"] if m["id"] != c["kept"])
        rows.append(
            pick(c, ("stage", "size", "kept", "kept_because"))
            | {"dropped": dropped, "snippet": snippet(texts.get(c["kept"], member))}
        )
    sizes = report.get("cluster_sizes", {})
    return ran(
        documents=report.get("documents", 0),
        kept=report.get("kept", 0),
        dropped=report.get("dropped_count", 0),
        stages=stages,
        cluster_sizes={k: sizes[k] for k in sorted(sizes, key=int)},
        top_clusters=rows,
    )


def _view(d: dict[str, Any]) -> dict[str, Any]:
    by_size = sorted(d["cluster_sizes"].items(), key=lambda item: int(item[0]))
    sizes = [(f"{size} documents", float(n)) for size, n in by_size]
    return {
        "documents": d["documents"],
        "kept": d["kept"],
        "dropped": d["dropped"],
        "stages": [[name, s["input"], s["kept"], s["dropped"]] for name, s in d["stages"].items()],
        "chart": bar_chart(sizes, label="cluster-size histogram"),
        "clusters": [
            [c["stage"], c["size"], c["kept"], len(c["dropped"]), c["snippet"]]
            for c in d["top_clusters"]
        ],
    }


class Dedup(Stage):
    name = "dedup"
    reads = ("quality",)
    uses_executor = True
    writes_metadata = metadata_written_by("dedup")
    section = Section("dedup", "Deduplication", _figures, _view)

    def upstream(self) -> tuple[str, ...]:
        """Quality's kept documents, or the judge's when the judge stage runs."""
        return (*self.reads, "judge") if self.config.judging is not None else self.reads

    def settings(self) -> Any:
        settings = dataclasses.asdict(self.config.dedup)
        return {k: v for k, v in settings.items() if k not in ("cache_dir", "quiet", "memory_mb")}

    def outputs(self) -> Sequence[Path]:
        return [self.layout.dedup / "kept", self.layout.dedup / "dedup_report.json"]

    def writes(self) -> Sequence[Path]:
        return [self.layout.dedup]

    def digest_of(self) -> Sequence[Path]:
        return [self.layout.dedup / "kept"]

    def corpus(self) -> Path | None:
        return self.layout.dedup / "kept"

    def run(self) -> dict[str, Any]:
        build = self.build
        return steps.dedup(
            self.config, self.layout, build.quiet, source=build.corpus, executor=build.executor
        )
