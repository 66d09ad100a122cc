"""review: queue the reviewed kinds for curators; the gate stops the build while they wait."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import CheckFailed
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.sections import NOT_RUN, Section, load_json, pick, ran
from toolkit.pipeline.stages.base import Stage
from toolkit.svg import stacked_bar

__all__ = ["Review"]

_PROGRESS_KEYS = ("pending", "accepted", "rejected", "needs-edit", "decided", "total", "percent")


def _figures(layout: BuildLayout, _: Sequence[str]) -> dict[str, Any]:
    queue = load_json(layout.review_queue)
    if queue is None:
        return dict(NOT_RUN)
    progress = queue.get("progress", {})
    return ran(**pick(progress, _PROGRESS_KEYS), edited=queue.get("edited_items", 0))


def _view(r: dict[str, Any]) -> dict[str, Any]:
    states = [(s, float(r[s] or 0)) for s in ("accepted", "rejected", "needs-edit", "pending")]
    return {**r, "chart": stacked_bar(states, label="review progress")}


class Review(Stage):
    """Its key follows the curators' decisions (the review database), so a decision
    reruns it; its own run adds to that database, hence `rekey_after_run`."""

    name = "review"
    reads = ("dedup", "contamination")
    section = Section("review", "Review", _figures, _view)
    rekey_after_run = True

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return (None,) if config.review_kinds else ()

    def settings(self) -> Any:
        config = self.config
        return [
            config.review_kinds,
            config.review_sample,
            config.review_stratify,
            config.review_seed,
            steps.review_digest(self.layout.review_db),
        ]

    def outputs(self) -> Sequence[Path]:
        return [self.layout.review_queue]

    def run(self) -> dict[str, Any]:
        assert self.build.corpus is not None
        return steps.review(self.config, self.layout, self.build.corpus, self.build.quiet)

    def finish(self) -> None:
        """The review gate: stop before the mix while reviewed kinds await curators."""
        build, config = self.build, self.config
        waiting = int(build.state.figures(self.id).get("awaiting", 0))
        allow = build.options.allow_unreviewed
        build.gate = {
            "required": config.review_required,
            "awaiting": waiting,
            "allow_unreviewed": allow,
        }
        if not config.review_required or waiting == 0 or allow:
            return
        if build.stops_at_or_before(type(self)):
            return
        kinds = ", ".join(config.review_kinds)
        raise CheckFailed(
            f"review gate: {waiting} document(s) of kind {kinds} await review, so the mix "
            f"was not built; review them with `ccorpus review serve --db "
            f"{self.layout.review_db}`, then rerun, or rerun with --allow-unreviewed to let "
            "pending ones into the mix"
        )
