"""principles: the constitution's principles as documents (a mix may draw on them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.constitution.options import sidecar_path
from toolkit.pipeline import steps
from toolkit.pipeline.stages.base import Stage

__all__ = ["Principles"]


class Principles(Stage):
    name = "principles"

    def inputs(self) -> Sequence[Path]:
        # The sidecar settings change the cut, so they enter the key (missing counts).
        return [self.config.constitution, sidecar_path(self.config.constitution)]

    def outputs(self) -> Sequence[Path]:
        return [self.layout.principles]

    def writes(self) -> Sequence[Path]:
        return [self.layout.principles]

    def run(self) -> dict[str, Any]:
        return steps.principles(self.config, self.layout)
