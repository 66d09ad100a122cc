"""The judge stage's settings, and the `[judge]` table of a corpus config that sets them.

Every key is optional; a table that is present enables the stage. Thresholds
are the least score (1-5) a judged document needs on each scale; what is
under one after the revise rounds is rejected when `gate` is on, and kept
with its verdict when it is off. The budget caps what revision may spend, in
dollars, each request priced at its most before it is sent.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError
from toolkit.generate.backends.base import MAX_CONCURRENCY
from toolkit.tables import TableReader

__all__ = ["JUDGE_KINDS", "JudgeSettings", "parse_judge_table", "resolve_backend"]

JUDGE_KINDS = ("explainer", "story", "advice")
BACKENDS = ("auto", "offline", "anthropic")
_STRATA = ("kind", "template", "principle")

_KEYS = {
    "backend": f"one of {', '.join(BACKENDS)} (auto: anthropic with a key, else the "
    "offline stand-in)",
    "model": "a model id",
    "batch": "true or false (Message Batches API: half price)",
    "concurrency": f"an integer from 1 to {MAX_CONCURRENCY} (live requests in flight)",
    "kinds": f"a list drawn from {', '.join(JUDGE_KINDS)}",
    "sample": "a positive integer (judge a stratified sample of this many; default all)",
    "stratify": f"a list of strata ({', '.join(_STRATA)} or a seed attribute such as genre)",
    "seed": "an integer (which documents the sample draws)",
    "min_faithfulness": "an integer from 1 to 5",
    "min_quality": "an integer from 1 to 5",
    "min_reasoning": "an integer from 1 to 5",
    "gate": "true (reject what stays under a threshold) or false (keep it, with its verdict)",
    "revise_rounds": "an integer from 0 to 5 (critique-and-revise rounds)",
    "budget_usd": "a number of dollars above 0 (the most revision may spend)",
    "score_share": "a number from 0 to 1 (the judge's weight in the quality score)",
}


@dataclass(frozen=True)
class JudgeSettings:
    """What the judge stage does; `thresholds` by scale, in the order they are checked."""

    backend: str = "auto"
    model: str | None = None
    batch: bool = True
    concurrency: int = 4
    kinds: tuple[str, ...] = JUDGE_KINDS
    sample: int | None = None
    stratify: tuple[str, ...] = ("kind", "template")
    seed: int = 0
    thresholds: dict[str, int] = field(
        default_factory=lambda: {"faithfulness": 3, "quality": 3, "reasoning": 3}
    )
    gate: bool = True
    revise_rounds: int = 1
    budget_usd: float | None = None
    score_share: float = 0.5

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"judge backend: expected one of {', '.join(BACKENDS)}")
        if not 0 <= self.revise_rounds <= 5:
            raise ConfigError(f"revise_rounds: expected 0 to 5, got {self.revise_rounds}")
        if not 0.0 <= self.score_share <= 1.0:
            raise ConfigError(f"score_share: expected 0 to 1, got {self.score_share}")
        if self.budget_usd is not None and not self.budget_usd > 0:
            raise ConfigError(f"budget_usd: expected more than 0, got {self.budget_usd}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for a stage key and a summary."""
        data = asdict(self)
        data["kinds"], data["stratify"] = list(self.kinds), list(self.stratify)
        return data


def resolve_backend(settings: JudgeSettings) -> tuple[str, str]:
    """The backend and model a run uses: `auto` is anthropic when ANTHROPIC_API_KEY is
    set, else the offline stand-in; the model defaults to the backend's own."""
    from toolkit.generate.backends import DEFAULT_MODEL, OFFLINE_MODEL

    name = settings.backend
    if name == "auto":
        name = "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "offline"
    model = settings.model or (OFFLINE_MODEL if name == "offline" else DEFAULT_MODEL)
    return name, model


def parse_judge_table(file: Path, table: dict[str, Any]) -> JudgeSettings:
    """The settings in the `[judge]` table of the config `file`; errors name `judge.KEY`."""
    reader = TableReader(file, table, "judge.", _KEYS)
    backend = reader.string("backend", "auto")
    if backend not in BACKENDS:
        reader.expect("backend", backend)
    if backend == "anthropic" and not os.environ.get("ANTHROPIC_API_KEY"):
        reader.fail(  # refused before anything runs, not after generation and quality
            "backend",
            'anthropic needs ANTHROPIC_API_KEY; export it, or set backend = "offline" '
            "(the labelled stand-in)",
        )
    concurrency = reader.integer("concurrency", 4, 1) or 4
    if concurrency > MAX_CONCURRENCY:
        reader.expect("concurrency", concurrency)
    thresholds = {}
    for axis in ("faithfulness", "quality", "reasoning"):
        least = reader.integer(f"min_{axis}", 3, 1) or 3
        if least > 5:
            reader.expect(f"min_{axis}", least)
        thresholds[axis] = least
    rounds = reader.integer("revise_rounds", 1, 0)
    if rounds is not None and rounds > 5:
        reader.expect("revise_rounds", rounds)
    budget = None
    if "budget_usd" in reader.table:
        budget = reader.number("budget_usd", 0.0, 1e-9, float("inf"), closed=False)
    assert backend is not None
    return JudgeSettings(
        backend=backend,
        model=reader.string("model"),
        batch=reader.boolean("batch", True),
        concurrency=concurrency,
        kinds=reader.strings("kinds", JUDGE_KINDS, default=JUDGE_KINDS),
        sample=reader.integer("sample", None, 1),
        stratify=reader.strings("stratify", default=("kind", "template")),
        seed=reader.integer("seed", 0) or 0,
        thresholds=thresholds,
        gate=reader.boolean("gate", True),
        revise_rounds=rounds or 0,
        budget_usd=budget,
        score_share=reader.number("score_share", 0.5, 0.0, 1.0, closed=True),
    )
