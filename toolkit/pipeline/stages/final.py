"""final: what a mix may draw on; reviewed kinds only once accepted, with their edits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.pipeline import steps
from toolkit.pipeline.stages.base import Stage

__all__ = ["Final"]


class Final(Stage):
    """Part of the `mix` group for `--until` and `--force`, as before it had a name.

    It writes `metadata["review"]` (the contract's review key) on accepted documents.
    """

    name = "final"
    family = "mix"
    reads = ("dedup", "contamination", "review")
    writes_metadata = ("review",)

    def settings(self) -> Any:
        config = self.config
        return [self.build.options.allow_unreviewed, config.review_kinds, config.review_required]

    def outputs(self) -> Sequence[Path]:
        return [self.layout.final]

    def writes(self) -> Sequence[Path]:
        return [self.layout.final]

    def corpus(self) -> Path | None:
        return self.layout.final

    def run(self) -> dict[str, Any]:
        assert self.build.corpus is not None
        allow = self.build.options.allow_unreviewed
        return steps.final(self.config, self.layout, self.build.corpus, allow)
