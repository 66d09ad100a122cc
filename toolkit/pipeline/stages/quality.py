"""quality: every generated document in one corpus, then the quality filter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.pipeline import steps
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, ran
from toolkit.pipeline.stages.base import Stage, metadata_written_by
from toolkit.svg import bar_chart

__all__ = ["Quality"]


def _figures(layout: BuildLayout, _: Sequence[str]) -> dict[str, Any]:
    summary = load_json(layout.quality / "summary.json")
    if summary is None:
        return dict(NOT_RUN)
    reasons = summary.get("reasons", {})
    return ran(
        documents=summary.get("documents", 0),
        kept=summary.get("kept", 0),
        rejected=summary.get("dropped", 0),
        rejects_by_reason=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        profile_version=summary.get("profile_version"),
    )


def _view(q: dict[str, Any]) -> dict[str, Any]:
    by_count = sorted(q["rejects_by_reason"].items(), key=lambda item: (-item[1], item[0]))
    reasons = [(reason, float(n)) for reason, n in by_count]
    return {**q, "chart": bar_chart(reasons, label="rejects by reason")}


class Quality(Stage):
    name = "quality"
    reads = ("generate",)
    uses_executor = True
    writes_metadata = metadata_written_by("quality")
    section = Section("quality", "Quality", _figures, _view)

    def inputs(self) -> Sequence[Path]:
        return [self.config.constitution, steps.profile_path(self.config)]

    def settings(self) -> Any:
        config = self.config
        return [config.quality_embed, config.spacy_model, config.quality_batch_size]

    def outputs(self) -> Sequence[Path]:
        return [self.layout.quality / "kept", self.layout.quality / "summary.json"]

    def writes(self) -> Sequence[Path]:
        return [self.layout.generated, self.layout.quality]

    def digest_of(self) -> Sequence[Path]:
        return [self.layout.quality / "kept"]

    def run(self) -> dict[str, Any]:
        return steps.quality(self.config, self.layout, self.build.quiet, self.build.executor)
