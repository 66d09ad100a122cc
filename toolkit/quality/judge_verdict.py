"""The judge's verdict: its scales, its strict parser, and which of two verdicts is better.

`judge.v1` rates two scales (faithfulness, quality); `judge.v2` adds
**reasoning**: are the AI's reasons on the page, specific, weighing a real
alternative and connected to the principle, rather than a moral stated at
the end. A reply must be one JSON object of exactly the template's scales,
each an integer score from 1 to 5 with a one-sentence reason; anything else
is a `VerdictError`, never a guessed score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from toolkit.errors import VerdictError
from toolkit.replies import reply_json

__all__ = ["AXES", "Verdict", "axes_of", "below", "is_better", "parse_verdict"]

#: The scales each judge template version rates, in the order its verdict lists them.
AXES: dict[str, tuple[str, ...]] = {
    "v1": ("faithfulness", "quality"),
    "v2": ("faithfulness", "quality", "reasoning"),
}


def axes_of(version: str) -> tuple[str, ...]:
    """The scales of judge template `version` ("v1", "v2")."""
    return AXES.get(version, AXES["v2"])


@dataclass(frozen=True, slots=True)
class Verdict:
    """Ratings from 1 to 5, each with the judge's one-sentence reason.

    `reasoning` is None for a judge.v1 verdict, which does not rate it.
    """

    faithfulness: int
    faithfulness_reason: str
    quality: int
    quality_reason: str
    reasoning: int | None = None
    reasoning_reason: str | None = None

    def scores(self) -> dict[str, int]:
        """Each rated scale's score, by name."""
        found = {"faithfulness": self.faithfulness, "quality": self.quality}
        if self.reasoning is not None:
            found["reasoning"] = self.reasoning
        return found

    def to_dict(self) -> dict[str, Any]:
        """The verdict as judge.jsonl and metadata hold it: unrated scales left out."""
        row = asdict(self)
        if self.reasoning is None:
            del row["reasoning"], row["reasoning_reason"]
        return row


def parse_verdict(text: str, axes: Sequence[str] = AXES["v2"]) -> Verdict:
    """The verdict in `text`: one JSON object, optionally inside one code fence.

    Exactly the keys `axes`, each an object with exactly an integer `score`
    from 1 to 5 and a non-empty string `reason`.
    """
    data = reply_json(text, VerdictError)
    names = " and ".join([", ".join(axes[:-1]), axes[-1]] if len(axes) > 2 else axes)
    if not isinstance(data, dict) or set(data) != set(axes):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise VerdictError(f"expected an object with keys {names}, got {found}")
    values: dict[str, Any] = {}
    for axis in axes:
        part = data[axis]
        if not isinstance(part, dict) or set(part) != {"score", "reason"}:
            raise VerdictError(f"{axis}: expected an object with keys score and reason")
        score, reason = part["score"], part["reason"]
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise VerdictError(f"{axis}.score: expected an integer from 1 to 5, got {score!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise VerdictError(f"{axis}.reason: expected a non-empty string")
        values[axis] = score
        values[f"{axis}_reason"] = reason.strip()
    return Verdict(**values)


def below(verdict: Verdict, thresholds: Mapping[str, int]) -> list[str]:
    """The scales on which `verdict` scores under its threshold, in `thresholds` order."""
    scores = verdict.scores()
    return [axis for axis, least in thresholds.items() if axis in scores and scores[axis] < least]


def is_better(after: Verdict, before: Verdict) -> bool:
    """Whether `after` improves on `before`: no scale lower and at least one higher.

    A revision that trades faithfulness for polish is not better: a judge's
    scales are not interchangeable, so only an improvement on every front counts.
    """
    new, old = after.scores(), before.scores()
    shared = [axis for axis in old if axis in new]
    return all(new[a] >= old[a] for a in shared) and any(new[a] > old[a] for a in shared)
