"""A plan's drafts after screening: flagged items re-drawn by seed, dropped or kept marked.

`toolkit.generate.screening` measures how far each scenario lies from the
evals; here a plan acts on it. Re-draws come from decks of their own (the
drafter's `redraw:` stream), so the items that were clear never change, and
an opted-in eval-adjacent dilemma, the ablation itself, is never re-drawn or
dropped. The figures are what a plan's provenance and the report show.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from toolkit.constitution import Constitution, Principle
from toolkit.generate.attributes import Attributes
from toolkit.generate.drafters import DRAFTERS, make_drafter
from toolkit.generate.drafts import Draft
from toolkit.generate.plan import PlanItem
from toolkit.generate.screening import ScreenOptions, screen_scenarios

__all__ = ["ABLATION", "screened_drafts", "screening_figures"]

#: How a plan that opts in to eval-adjacent dilemmas names the ablation.
ABLATION = "eval-adjacent dilemmas"
_ACTIONABLE = ("near an eval item", "shares an eval premise")


def _screen(kind: str, drafts: Sequence[Draft], options: ScreenOptions) -> list[dict[str, Any]]:
    scenarios = [(d.attributes, d.principles[0].title) for d in drafts]
    return screen_scenarios(DRAFTERS[kind].kind, scenarios, options)


def _actionable(record: dict[str, Any], draft: Draft) -> bool:
    """Whether a flag calls for the plan's action: an opted-in eval-adjacent dilemma is the
    ablation itself, never re-drawn or dropped."""
    if draft.attributes.get("eval_adjacent"):
        return False
    return any(reason in _ACTIONABLE for reason in record["flagged"])


def _excess(record: dict[str, Any], options: ScreenOptions) -> float:
    """How far past its thresholds a scenario lies (the larger excess of the two checks)."""
    near = float(record.get("eval_similarity", 0.0)) - options.max_eval_similarity
    premise = float(record.get("premise_margin", -1.0)) - options.premise_margin
    return max(near, premise)


def screened_drafts(
    kind: str,
    constitution: Constitution,
    attributes: Attributes,
    quota: Sequence[Principle],
    seed: int,
    options: ScreenOptions,
    deployment_share: float | None = None,
) -> tuple[list[Draft], dict[str, int]]:
    """The drafts of a plan after screening and the plan's action; and the counts."""
    drafter = make_drafter(
        kind,
        constitution,
        attributes,
        seed,
        eval_adjacent=options.eval_adjacent,
        deployment_share=deployment_share,
    )
    drafts = [drafter.draw(p) for p in quota]
    records = _screen(kind, drafts, options)
    counts = Counter(flagged=sum(_actionable(r, d) for r, d in zip(records, drafts, strict=True)))
    redraws = [0] * len(drafts)
    if options.action == "redraw" and counts["flagged"]:
        again = make_drafter(
            kind,
            constitution,
            attributes,
            seed,
            stream="redraw:",
            eval_adjacent=options.eval_adjacent,
            deployment_share=deployment_share,
        )
        for _ in range(options.redraws):
            todo = [i for i, d in enumerate(drafts) if _actionable(records[i], d)]
            if not todo:
                break
            fresh = [again.draw(drafts[i].principles[0]) for i in todo]
            for i, draft, record in zip(todo, fresh, _screen(kind, fresh, options), strict=True):
                redraws[i] += 1
                if not _actionable(record, draft) or _excess(record, options) < _excess(
                    records[i], options
                ):
                    drafts[i], records[i] = draft, record
        counts["redrawn"] = sum(1 for r in redraws if r)
    keep = []
    for draft, record, count in zip(drafts, records, redraws, strict=True):
        if count:
            record["redraws"] = count
        if options.action == "drop" and _actionable(record, draft):
            counts["dropped"] += 1
            continue
        counts["still_flagged"] += _actionable(record, draft)
        draft.screening = record
        keep.append(draft)
    return keep, dict(counts)


def screening_figures(items: Sequence[PlanItem], options: ScreenOptions) -> dict[str, Any]:
    """Per-plan figures of the screening: nearest items, eval-adjacent share, by family."""
    sims = [i.screening["eval_similarity"] for i in items if "eval_similarity" in i.screening]
    adjacent = sum(1 for i in items if i.attributes.get("eval_adjacent"))
    families: dict[str, list[float]] = {}
    for item in items:
        family = item.attributes.get("dilemma_family")
        if family:
            families.setdefault(family, []).append(item.screening.get("eval_similarity", 0.0))
    nearest = sorted(items, key=lambda i: -i.screening.get("eval_similarity", -1.0))[:5]
    return {
        "eval_adjacent_items": adjacent,
        "eval_adjacent_share": round(adjacent / len(items), 4) if items else 0.0,
        "ablations": [ABLATION] if options.eval_adjacent else [],
        "max_eval_similarity_seen": max(sims) if sims else None,
        "median_eval_similarity": round(statistics.median(sims), 3) if sims else None,
        "flagged_items": sum(1 for i in items if i.screening.get("flagged")),
        "nearest": [{"plan_id": i.plan_id, **i.screening} for i in nearest if sims],
        "by_family": {
            family: {
                "items": len(values),
                "median_eval_similarity": round(statistics.median(values), 3),
            }
            for family, values in sorted(families.items())
        },
    }
