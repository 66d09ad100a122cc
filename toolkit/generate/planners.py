"""Planners: turn a constitution and attribute lists into a deterministic, screened plan.

Coverage and diversity are decided here, before anything is paid for. Every
principle gets a quota (round-robin over a seeded shuffle), and each item's
attributes are drawn for its principle (`toolkit.generate.drafts`). Each
item's scenario is then screened against the build's eval sets and the
premises of published evaluations (`toolkit.generate.screening`); a flagged
item is kept and marked, re-drawn from decks of its own (so clear items never
change), or dropped. The same inputs and seed give a byte-identical plan
file, and a provenance file beside it (`PLAN.provenance.json`) records the
options, the ablations and the figures.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toolkit.constitution import Constitution, Principle, load_constitution
from toolkit.errors import ConfigError
from toolkit.generate.attributes import Attributes, load_attributes
from toolkit.generate.drafters import DRAFTERS, make_drafter
from toolkit.generate.drafts import Draft, quote_principle
from toolkit.generate.plan import PlanItem, write_plan
from toolkit.generate.quotas import principle_quota
from toolkit.generate.screen_plan import ABLATION, screened_drafts, screening_figures
from toolkit.generate.screening import ScreenOptions, load_premises
from toolkit.generate.templates import load_template, render
from toolkit.io.atomic import atomic_write
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress

__all__ = [
    "ABLATION",
    "DEFAULT_PER_PRINCIPLE",
    "PLANNERS",
    "Planner",
    "make_plan",
    "plan_advice",
    "plan_explainers",
    "plan_stories",
    "provenance_path",
    "quote_principle",
]

#: The template version each planner renders; a new version is a new file and a new line here.
TEMPLATE_VERSION = "v1"
#: Items per principle when a plan gives neither n nor per_principle. Advice gets the
#: most: it was the most data-efficient kind in the research this recipe follows.
DEFAULT_PER_PRINCIPLE = {"explainers": 1, "stories": 1, "advice": 2}


def provenance_path(plan: str | Path) -> Path:
    """The provenance file beside a plan: `stories.jsonl` -> `stories.provenance.json`."""
    path = Path(plan)
    return path.with_name(f"{path.name.split('.')[0]}.provenance.json")


def _principles_text(nodes: Sequence[Principle]) -> str:
    return "\n\n".join(quote_principle(node) for node in nodes)


def _items(constitution: Constitution, kind: str, drafts: Sequence[Draft]) -> list[PlanItem]:
    """Number the drafts and render their prompts; repeated prompts get distinct sample indices."""
    template = load_template(DRAFTERS[kind].template, TEMPLATE_VERSION)
    seen: Counter[str] = Counter()
    items = []
    for index, draft in enumerate(drafts):
        prompt = render(
            template,
            {
                **draft.attributes,
                **draft.extra,
                "constitution_title": constitution.title,
                "principles": _principles_text(draft.principles),
            },
        )
        items.append(
            PlanItem(
                plan_id=f"{DRAFTERS[kind].kind}-{index:05d}",
                kind=DRAFTERS[kind].kind,
                template=template.name,
                template_version=template.version,
                prompt=prompt,
                constitution=constitution.path,
                constitution_version=constitution.version,
                principle_ids=tuple(p.id for p in draft.principles),
                attributes=draft.attributes,
                sample_index=seen[prompt],
                max_tokens=draft.max_tokens,
                title=draft.title,
                prefix=draft.prefix,
                screening=draft.screening,
            )
        )
        seen[prompt] += 1
    return items


def _plan(
    kind: str,
    constitution: Constitution,
    attributes: Attributes,
    *,
    n: int | None = None,
    per_principle: int | None = None,
    seed: int = 0,
    deployment_share: float | None = None,
) -> list[PlanItem]:
    drafter = make_drafter(kind, constitution, attributes, seed, deployment_share=deployment_share)
    if n is None and per_principle is None:
        per_principle = DEFAULT_PER_PRINCIPLE[kind]
    quota = principle_quota(constitution, n, per_principle, seed, drafter.kind)
    return _items(constitution, kind, [drafter.draw(p) for p in quota])


def plan_explainers(
    constitution: Constitution, attributes: Attributes, **kw: Any
) -> list[PlanItem]:
    """Explainers: each principle in a form of exposition, for an audience (unscreened)."""
    return _plan("explainers", constitution, attributes, **kw)


def plan_stories(constitution: Constitution, attributes: Attributes, **kw: Any) -> list[PlanItem]:
    """Stories: an agentic AI in a compatible role and setting facing a dilemma drawn for
    the principle (unscreened; eval-adjacent dilemmas left out)."""
    return _plan("stories", constitution, attributes, **kw)


def plan_advice(constitution: Constitution, attributes: Attributes, **kw: Any) -> list[PlanItem]:
    """Advice dialogues on situations drawn for the principle, in deployments (unscreened)."""
    return _plan("advice", constitution, attributes, **kw)


Planner = Callable[..., list[PlanItem]]

PLANNERS: dict[str, Planner] = {
    "explainers": plan_explainers,
    "stories": plan_stories,
    "advice": plan_advice,
}


def make_plan(
    kind: str,
    constitution_path: str | Path,
    out: str | Path,
    *,
    n: int | None = None,
    per_principle: int | None = None,
    seed: int = 0,
    attributes_dir: str | Path | None = None,
    quiet: bool = False,
    overwrite: bool = False,
    screen: ScreenOptions | None = None,
    deployment_share: float | None = None,
    granularity: str | None = None,
) -> dict[str, Any]:
    """Plan `kind` ("explainers", "stories" or "advice"), screen it, write it and its
    provenance; return its figures (with every item's screening under `items_screening`).

    `granularity` cuts the constitution as `load_constitution` does (None: the
    file's own setting). An existing plan file (perhaps edited by hand) is
    refused unless `overwrite`.
    """
    if kind not in DRAFTERS:
        raise ConfigError(f"no planner {kind!r}; expected one of {', '.join(DRAFTERS)}")
    options = screen or ScreenOptions()
    options.validate()
    constitution = load_constitution(constitution_path, granularity=granularity)
    attributes = load_attributes(attributes_dir)
    if options.premises is None:
        options = _with_premises(options, attributes)
    if n is None and per_principle is None:
        per_principle = DEFAULT_PER_PRINCIPLE[kind]
    quota = principle_quota(constitution, n, per_principle, seed, DRAFTERS[kind].kind)
    refuse_existing([out, provenance_path(out)], overwrite=overwrite)
    drafts, counts = screened_drafts(
        kind, constitution, attributes, quota, seed, options, deployment_share
    )
    items = _items(constitution, kind, drafts)
    bar = progress(items, description=f"writing the {kind} plan", total=len(items), quiet=quiet)
    write_plan(bar, out)
    covered = {pid for item in items for pid in item.principle_ids[:1]}
    rendered = sum(1 for item in items if item.prefix)
    result: dict[str, Any] = {
        "plan": str(out),
        "kind": kind,
        "items": len(items),
        "principles": len(constitution.principles()),
        "principles_covered": len(covered),
        "constitution": constitution.path,
        "constitution_version": constitution.version,
        "granularity": constitution.cut().options.granularity,
        "seed": seed,
        "deployment": {
            "rendered": rendered,
            "share": round(rendered / len(items), 4) if items else 0.0,
        },
        "screening": {**options.settings(), **counts, **screening_figures(items, options)},
    }
    with atomic_write(provenance_path(out), compress=False) as handle:
        handle.write((json.dumps(result, indent=2, sort_keys=True) + "\n").encode())
    result["items_screening"] = [{"plan_id": i.plan_id, **i.screening} for i in items]
    return result


def _with_premises(options: ScreenOptions, attributes: Attributes) -> ScreenOptions:
    from dataclasses import replace

    return replace(options, premises=load_premises(attributes.premises))
