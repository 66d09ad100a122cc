"""contamination: the corpus against every eval set; gated documents dropped, or the build fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.contamination.views import gate_outcome, group_hits
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, SNIPPET, Section, load_json, pick, ran, snippet
from toolkit.pipeline.stages.base import Stage, metadata_written_by
from toolkit.svg import dot_chart

__all__ = ["Contamination"]

TOP_ITEMS = 20  # eval items with hits shown, strongest first
TOP_ITEM_HITS = 8  # hits shown per item
_PCT = ("p50", "p90", "p99", "max")


def _hit_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strongest `TOP_ITEMS` eval items with hits, each with its strongest hits."""
    out = []
    for g in groups[:TOP_ITEMS]:
        shown = [
            pick(h, ("doc_id", "source", "stage", "unit", "choice", "verifier", "score", "gated"))
            | {"doc_text": snippet(h.get("doc_text", ""), 2 * SNIPPET)}
            for h in g["hits"][:TOP_ITEM_HITS]
        ]
        out.append(
            pick(g, ("eval", "eval_index", "eval_id", "label", "gated", "best", "documents"))
            | {
                "item_text": snippet(g["item_text"], 2 * SNIPPET),
                "hit_count": len(g["hits"]),
                "hits": shown,
            }
        )
    return out


def _figures(layout: BuildLayout, _: Sequence[str]) -> dict[str, Any]:
    report = load_json(layout.contamination / "contamination.json")
    if report is None:
        return dict(NOT_RUN)
    summary, distance = report["summary"], report.get("distance", {})
    evals = {
        name: {
            "items": e["items"],
            "too_short": e.get("too_short", 0),
            "hits": sum(e.get("hits", {}).values()),
            "items_with_hits": e.get("items_with_hits", 0),
            "failing": e.get("failing_items", 0),
            **pick(distance.get(name, {}), _PCT),
        }
        for name, e in sorted(summary["evals"].items())
    }
    gate = summary["gate"]
    hits = report.get("hits", [])
    decontamination = report.get("decontamination")
    groups = group_hits(hits)
    return ran(
        documents=summary.get("documents", 0),
        evals=evals,
        gate=pick(gate, ("passed", "failing_items", "ngram_share", "cosine")),
        removed=None if decontamination is None else decontamination.get("dropped"),
        decontamination=None
        if decontamination is None
        else pick(decontamination, ("dropped", "cut", "kept")),
        plan_gated_hits=sum(1 for h in hits if h["gated"] and h["source"] != "corpus"),
        hits=len(hits),
        items_with_hits=len(groups),
        items=_hit_groups(groups),
    )


def _view(c: dict[str, Any]) -> dict[str, Any]:
    gate = c["gate"]
    keys = ("items", "too_short", "hits", "items_with_hits", "failing", *_PCT)
    decontamination = c.get("decontamination")
    if decontamination is None and c.get("removed") is not None:  # a report.json of before
        decontamination = {"dropped": c["removed"]}
    marker = None if gate["cosine"] is None else ("gate", gate["cosine"])
    return {
        "outcome": gate_outcome(gate, decontamination, plan_hits=c.get("plan_gated_hits", 0)),
        "rows": [
            [name, *(e[k] if e[k] is not None else "-" for k in keys)]
            for name, e in c["evals"].items()
        ],
        "groups": c.get("items", []),
        "hits": c.get("hits", sum(e["hits"] for e in c["evals"].values())),
        "items_with_hits": c.get("items_with_hits", 0),
        "eval_items": sum(e["items"] for e in c["evals"].values()),
        "documents": c["documents"],
        "chart": dot_chart(
            [
                (name, {k: float(e[k]) for k in _PCT})
                for name, e in c["evals"].items()
                if e["max"] is not None
            ],
            label="nearest-neighbour similarity percentiles",
            marker=marker,
        ),
    }


class Contamination(Stage):
    name = "contamination"
    reads = ("dedup", "plan")
    uses_executor = True
    writes_metadata = metadata_written_by("contamination")
    section = Section("contamination", "Contamination", _figures, _view)

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return (None,) if config.evals else ()

    def upstream(self) -> tuple[str, ...]:
        return self.reads if self.config.check_plans else ("dedup",)

    def inputs(self) -> Sequence[Path]:
        return [e.path for e in self.config.evals]

    def settings(self) -> Any:
        config = self.config
        options = dataclasses.asdict(config.contamination)
        return {
            "evals": [e.spec for e in config.evals],
            "options": {k: v for k, v in options.items() if k not in ("cache_dir", "quiet")},
            "judge": config.judge,
            "plans": config.check_plans,
            "decontaminate": config.decontaminate,
        }

    def outputs(self) -> Sequence[Path]:
        return [self.layout.contamination / "contamination.json"]

    def writes(self) -> Sequence[Path]:
        return [self.layout.contamination]

    def digest_of(self) -> Sequence[Path]:
        return [self.layout.contamination / "kept" if self.config.decontaminate else self.corpus_in]

    @property
    def corpus_in(self) -> Path:
        return self.layout.dedup / "kept"

    def corpus(self) -> Path | None:
        return self.layout.contamination / "kept" if self.config.decontaminate else None

    def run(self) -> dict[str, Any]:
        return steps.contamination(self.config, self.layout, self.build.quiet, self.build.executor)
