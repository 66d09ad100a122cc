"""generate:KIND: the documents of each plan, resumed inside the stage (nothing paid twice)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.pipeline import steps
from toolkit.pipeline.config import BuildConfig
from toolkit.pipeline.stages.base import Stage, metadata_written_by

__all__ = ["Generate"]


class Generate(Stage):
    name = "generate"
    reads = ("plan",)
    writes_metadata = metadata_written_by("generate")

    @classmethod
    def instances(cls, config: BuildConfig) -> tuple[str | None, ...]:
        return tuple(plan.kind for plan in config.plans)

    def settings(self) -> Any:
        backend, model = self.build.backend
        return [backend, model, self.config.batch]

    def outputs(self) -> Sequence[Path]:
        assert self.instance is not None
        return [self.layout.generated_documents(self.instance)]

    def run(self) -> dict[str, Any]:
        assert self.instance is not None
        backend, model = self.build.backend
        return steps.generate(
            self.config, self.layout, self.instance, backend, model, self.build.quiet
        )
