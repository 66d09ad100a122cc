"""How far each plan item's scenario lies from the evals, measured before anything is paid for.

Training on documents near an evaluation's distribution suppresses that
evaluation without generalising, so a plan is screened twice per item:

- eval items: the cosine of the item's scenario (its seed attributes in one
  sentence) with every item of the build's eval sets; the nearest is
  reported, and a scenario above `max_eval_similarity` is flagged;
- premises: a text-similarity gate cannot see a premise that shares no
  wording (a story about an AI facing replacement echoes a blackmail
  honeypot in none of its words), so a story's dilemma is also compared with
  the premises of published evaluations (`eval_premises.txt`) and with a
  contrast list of ordinary scenarios; it is flagged when it is nearer a
  premise than anything ordinary by at least `premise_margin` (0.1: every
  shipped eval-adjacent dilemma and 1 of 84 ordinary ones; on held-out
  scenarios 10 of 16 premises and none of 24 ordinary ones).

The scenario is the part of the rendered prompt that varies between items:
the prompt's fixed instructions are the same in every prompt, and the
principle's text is shared by every item of that principle (an eval written
from the constitution shares it too; the contamination stage checks the
documents for that overlap). Eval-adjacent dilemmas are flagged by their
family heading whatever their wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.errors import ConfigError, InputError, RecordError
from toolkit.generate.vectors import cosines

__all__ = [
    "ACTIONS",
    "DEFAULT_MAX_EVAL_SIMILARITY",
    "DEFAULT_PREMISE_MARGIN",
    "Premises",
    "ScreenOptions",
    "eval_texts",
    "load_premises",
    "scenario_text",
    "screen_scenarios",
]

#: What a plan does with a flagged item: keep it flagged, re-draw its attributes, drop it.
ACTIONS = ("flag", "redraw", "drop")
#: Calibrated on the shipped dilemmas and situations; measured on held-out scenarios.
DEFAULT_PREMISE_MARGIN = 0.1
DEFAULT_MAX_EVAL_SIMILARITY = 0.55

_AI = re.compile(r"\b(?:the|an|a|another|peer) AI(?: system| agent)?\b|\bAI\b", re.IGNORECASE)


def _neutral(text: str) -> str:
    """The text with "the AI" and the like as "it": every scenario here is about an AI,
    so the words would only make every premise look near."""
    return " ".join(_AI.sub("it", text).split())


@dataclass(frozen=True, slots=True)
class Premises:
    """Premise phrasings (each with its premise's label) and the contrast list."""

    labels: tuple[str, ...]
    phrasings: tuple[str, ...]
    contrast: tuple[str, ...]
    path: str = ""


def load_premises(path: str | Path) -> Premises:
    """Read `[premises]` (`label: phrasing | phrasing`) and `[contrast]` lines."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{file}: cannot read the eval premises ({err})") from None
    labels: list[str] = []
    phrasings: list[str] = []
    contrast: list[str] = []
    section = ""
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[premises]", "[contrast]"):
            section = line[1:-1]
            continue
        if section == "contrast":
            contrast.append(line)
            continue
        label, sep, rest = line.partition(":")
        found = [p.strip() for p in rest.split("|") if p.strip()]
        if section != "premises" or not sep or not label.strip() or not found:
            raise RecordError(
                str(file),
                lineno,
                "expected 'label: phrasing | phrasing' under [premises], "
                "or a scenario under [contrast]",
            )
        labels += [label.strip()] * len(found)
        phrasings += found
    if not phrasings:
        raise InputError(f"{file}: no premises; expected a [premises] section")
    return Premises(tuple(labels), tuple(phrasings), tuple(contrast), str(file))


@dataclass(frozen=True)
class ScreenOptions:
    """What a plan is screened against and what it does with a flagged item.

    `evals`: (label, text) of every eval item of the build; `eval_sets`: their
    specs, as recorded in the plan's provenance. `eval_adjacent`: include
    eval-adjacent dilemmas (an ablation: they are flagged, never re-drawn).
    """

    evals: tuple[tuple[str, str], ...] = ()
    eval_sets: tuple[str, ...] = ()
    max_eval_similarity: float = DEFAULT_MAX_EVAL_SIMILARITY
    premise_margin: float = DEFAULT_PREMISE_MARGIN
    action: str = "redraw"
    eval_adjacent: bool = False
    redraws: int = 8
    premises: Premises | None = field(default=None, compare=False)

    def validate(self) -> None:
        if self.action not in ACTIONS:
            raise ConfigError(f"eval action {self.action!r}: expected one of {', '.join(ACTIONS)}")
        if not 0.0 < self.max_eval_similarity <= 1.0:
            raise ConfigError(
                f"max_eval_similarity: expected a cosine above 0 and at most 1, "
                f"got {self.max_eval_similarity}"
            )
        if not 0.0 <= self.premise_margin <= 1.0:
            raise ConfigError(
                f"premise_margin: expected a number from 0 to 1, got {self.premise_margin}"
            )

    def settings(self) -> dict[str, Any]:
        """The options as a plan's provenance records them."""
        return {
            "eval_sets": list(self.eval_sets),
            "thresholds": {
                "eval_similarity": self.max_eval_similarity,
                "premise_margin": self.premise_margin,
            },
            "premises": Path(self.premises.path).name if self.premises else None,
            "action": self.action,
            "eval_adjacent": self.eval_adjacent,
        }


def eval_texts(specs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(label, text) of every item of the eval sets `specs` (`PATH[:FIELD,...]`), the
    label being the row's own id, else `NAME[INDEX]`."""
    from toolkit.contamination.evals import load_evals

    if not specs:
        return ()
    return tuple(
        (item.id or f"{item.eval}[{item.index}]", item.text) for item in load_evals(list(specs))
    )


def scenario_text(kind: str, attributes: Mapping[str, Any], principle_title: str) -> str:
    """The scenario of a plan item: its seed attributes as one sentence."""
    if kind == "story":
        return (
            f"{attributes.get('role', '')} in {attributes.get('setting', '')}. "
            f"{attributes.get('dilemma', '')}: {attributes.get('dilemma_description', '')}"
        )
    if kind == "advice":
        return f"{attributes.get('situation', '')}: {attributes.get('situation_description', '')}"
    return (
        f"{attributes.get('genre', '')} for {attributes.get('audience', '')} "
        f"explaining {principle_title}"
    )


def premise_text(kind: str, attributes: Mapping[str, Any]) -> str | None:
    """What the premise check reads: a story's dilemma. Premises are an AI's set-ups; an
    advice situation is a person's own dilemma (a board pausing *their* project is the
    human analogue the recipe wants, not an eval premise), and an explainer has none."""
    if kind == "story":
        return f"{attributes.get('dilemma', '')}: {attributes.get('dilemma_description', '')}"
    return None


def premise_scores(texts: Sequence[str], premises: Premises) -> tuple[np.ndarray, list[str]]:
    """Each text's margin (nearest premise minus nearest contrast) and nearest premise."""
    if not texts:
        return np.zeros(0, dtype=np.float32), []
    neutral = [_neutral(t) for t in texts]
    near = cosines(neutral, [_neutral(p) for p in premises.phrasings])
    far = cosines(neutral, [_neutral(c) for c in premises.contrast])
    best = near.argmax(axis=1)
    margin = near.max(axis=1) - (far.max(axis=1) if premises.contrast else 0.0)
    return margin, [premises.labels[i] for i in best]


def screen_scenarios(
    kind: str,
    scenarios: Sequence[tuple[dict[str, Any], str]],
    options: ScreenOptions,
) -> list[dict[str, Any]]:
    """One screening record per (attributes, principle title): nearest eval item and its
    cosine, nearest premise and margin, and `flagged` (the reasons, empty when clear)."""
    texts = [scenario_text(kind, attrs, title) for attrs, title in scenarios]
    records: list[dict[str, Any]] = [{} for _ in scenarios]
    if options.evals:
        sims = cosines(texts, [text for _, text in options.evals])
        for record, row in zip(records, sims, strict=True):
            best = int(row.argmax())
            record["nearest_eval"] = options.evals[best][0]
            record["eval_similarity"] = round(float(row[best]), 3)
    checked = [
        (i, text)
        for i, (attrs, _) in enumerate(scenarios)
        if (text := premise_text(kind, attrs)) is not None
    ]
    if options.premises is not None and checked:
        margins, labels = premise_scores([t for _, t in checked], options.premises)
        for (i, _), margin, label in zip(checked, margins, labels, strict=True):
            records[i]["nearest_premise"] = label
            records[i]["premise_margin"] = round(float(margin), 3)
    for record, (attrs, _) in zip(records, scenarios, strict=True):
        reasons = []
        if attrs.get("eval_adjacent"):
            reasons.append("eval-adjacent dilemma")
        if record.get("eval_similarity", 0.0) > options.max_eval_similarity:
            reasons.append("near an eval item")
        if record.get("premise_margin", -1.0) >= options.premise_margin:
            reasons.append("shares an eval premise")
        record["flagged"] = reasons
    return records
