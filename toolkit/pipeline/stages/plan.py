"""plan:KIND: one generation plan per kind the config names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.constitution.options import sidecar_path
from toolkit.generate.planners import provenance_path
from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.stages.base import Stage

__all__ = ["Plan"]


class Plan(Stage):
    name = "plan"

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return tuple(plan.kind for plan in config.plans)

    def inputs(self) -> Sequence[Path]:
        constitution = self.config.constitution
        evals = [e.path for e in self.config.evals]  # plans are screened against them
        return [
            constitution,
            sidecar_path(constitution),
            *steps.attribute_paths(self.config),
            *evals,
        ]

    def settings(self) -> Any:
        plan = next(p for p in self.config.plans if p.kind == self.instance).settings()
        return {**plan, "screening": self.config.screening.settings()}

    def outputs(self) -> Sequence[Path]:
        assert self.instance is not None
        plan = self.layout.plan(self.instance)
        return [plan, provenance_path(plan)]

    def run(self) -> dict[str, Any]:
        assert self.instance is not None
        return steps.plan(self.config, self.layout, self.instance, self.build.quiet)
