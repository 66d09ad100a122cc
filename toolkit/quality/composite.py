"""The composite quality score, and the `metadata["quality"]` record that carries it.

A profile's `[score.TERM]` tables define the score. Each term maps one
signal to [0, 1]: 1 while the value lies in the term's `good` range, falling
linearly to 0 at the threshold of the document's kind's rule on that side
(so a document that barely passes a rule scores near 0 on its term); a side
with no rule stays 1. The score is the weighted mean of the terms that apply:

    score = sum(weight_t * part_t) / sum(weight_t)   over terms t whose signal
                                                      is not null and whose
                                                      signal the kind has a rule on

A document with no applicable term (or a profile without `[score]`, such as
default.v1) gets `score: null`. Since every rule's threshold is a zero point,
the score is relative to the kind: a 160-word story is barely long enough
(story.too_short is 150), a 160-word explainer less so (base.too_short is 80).

A build that runs the judge blends its verdict in (`blend_judge`): the
`judge` component is the mean of the verdict's scales mapped from 1-5 to
[0, 1], and the score becomes `(1 - share) * profile score + share * judge`,
the profile's own score kept beside it as `profile_score`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import fmean

from toolkit.document import Document
from toolkit.metadata import QualityMetadata
from toolkit.quality.catalog import Score
from toolkit.quality.profile import Profile, Rule, ScoreTerm

__all__ = ["JUDGE_TERM", "Composite", "blend_judge", "judge_part", "term_part"]

#: The component name of the judge's part of the composite score.
JUDGE_TERM = "judge"


@dataclass(frozen=True, slots=True)
class _Bounds:
    """A term as one kind sees it: the zero points its rules give on each side."""

    term: ScoreTerm
    floor: float | None
    ceiling: float | None


def _bounds(term: ScoreTerm, rules: tuple[Rule, ...]) -> _Bounds | None:
    """The tightest rule threshold on each side of `good`; None when no rule checks the signal."""
    own = [rule for rule in rules if rule.signal == term.signal]
    if not own:
        return None
    floors = [rule.min for rule in own if rule.min is not None]
    ceilings = [rule.max for rule in own if rule.max is not None]
    return _Bounds(term, max(floors, default=None), min(ceilings, default=None))


def term_part(
    value: float, good: tuple[float, float], floor: float | None, ceiling: float | None
) -> float:
    """`value` mapped to [0, 1]: 1 inside `good`, 0 at or past `floor`/`ceiling`, linear between."""
    low, high = good
    if value < low:
        if floor is None:
            return 1.0
        return 0.0 if value <= floor else (value - floor) / (low - floor)
    if value > high:
        if ceiling is None:
            return 1.0
        return 0.0 if value >= ceiling else (ceiling - value) / (ceiling - high)
    return 1.0


class Composite:
    """The composite score of a profile, with each kind's terms and zero points worked out once."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._terms: dict[str, tuple[_Bounds, ...]] = {}
        self._signals: dict[str, tuple[str, ...]] = {}

    def _for(self, kind: str) -> tuple[tuple[_Bounds, ...], tuple[str, ...]]:
        if kind not in self._terms:
            rules = self.profile.rules_for(kind)
            bounds = (_bounds(term, rules) for term in self.profile.score)
            self._terms[kind] = tuple(b for b in bounds if b is not None)
            names = [rule.signal for rule in rules] + [b.term.signal for b in self._terms[kind]]
            self._signals[kind] = tuple(dict.fromkeys(names))
        return self._terms[kind], self._signals[kind]

    def record(self, kind: str, scores: Mapping[str, Score]) -> QualityMetadata:
        """`metadata["quality"]` for a document of `kind` with these signal values."""
        terms, names = self._for(kind)
        parts: dict[str, float] = {}
        total = weights = 0.0
        for bounds in terms:
            value = scores.get(bounds.term.signal)
            if value is None:
                continue
            part = term_part(float(value), bounds.term.good, bounds.floor, bounds.ceiling)
            parts[bounds.term.name] = round(part, 4)
            total += bounds.term.weight * part
            weights += bounds.term.weight
        signals: dict[str, int | float] = {}
        for name in names:
            found = scores.get(name)
            if found is not None:
                signals[name] = found
        return {
            "score": round(total / weights, 4) if weights else None,
            "profile": self.profile.version,
            "components": parts,
            "signals": signals,
        }

    def annotate(self, doc: Document, scores: Mapping[str, Score]) -> Document:
        """`doc` with its `metadata["quality"]` (any earlier one replaced)."""
        record = self.record(doc.kind, scores)
        return replace(doc, metadata={**doc.metadata, "quality": record})


def judge_part(scores: Mapping[str, int]) -> float | None:
    """The judge's verdict as one number in [0, 1]: its scales' mean, 1 -> 0 and 5 -> 1."""
    if not scores:
        return None
    return round(fmean((score - 1) / 4 for score in scores.values()), 4)


def blend_judge(
    record: QualityMetadata | None, scores: Mapping[str, int], share: float
) -> QualityMetadata | None:
    """`record` with the judge's part as a component and blended into the score.

    `share` in [0, 1] is the judge's weight. The profile's own score is kept
    as `profile_score` (and reused when a record is blended again), so the
    blend never compounds. Without a verdict the record is returned as is;
    without a record (a document quality never scored) the judge's part is the score.
    """
    part = judge_part(scores)
    if part is None:
        return record
    if record is None:
        return {"score": part, "profile": "", "components": {JUDGE_TERM: part}, "signals": {}}
    base = record.get("profile_score", record["score"])
    score = part if base is None else (1 - share) * base + share * part
    return {
        **record,
        "score": round(score, 4),
        "components": {**record["components"], JUDGE_TERM: part},
        "profile_score": base,
    }
