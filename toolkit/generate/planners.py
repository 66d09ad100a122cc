"""Planners: turn a constitution and attribute lists into a deterministic plan.

Coverage and diversity are decided here, before anything is paid for. Every
principle gets a quota (round-robin over a seeded shuffle), and each attribute
is dealt from its own seeded "shuffled deck": every value is used once before
any is used twice, so a plan uses its values evenly instead of clumping the
way independent random draws do. The same inputs and seed give a
byte-identical plan file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toolkit.constitution import Constitution, Principle, load_constitution
from toolkit.errors import ConfigError
from toolkit.generate.attributes import Attributes, load_attributes, words_in_length
from toolkit.generate.plan import PlanItem, write_plan
from toolkit.generate.quotas import Deck, deck, principle_quota, seeded_rng
from toolkit.generate.templates import Template, load_template, render
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress

__all__ = [
    "PLANNERS",
    "Planner",
    "make_plan",
    "plan_advice",
    "plan_explainers",
    "plan_stories",
    "quote_principle",
]

EXPLAINER_MAX_TOKENS = 2560
ADVICE_MAX_TOKENS = 3072
#: The template version each planner renders; a new version is a new file and a new line here.
TEMPLATE_VERSION = "v1"


def quote_principle(node: Principle, *, heading: bool = True) -> str:
    """A principle's full body as a Markdown quotation, under its title and id."""
    lines = node.body.strip().splitlines()
    quoted = "\n".join(f"> {line}".rstrip() for line in lines)
    return f"**{node.title}** (`{node.id}`)\n\n{quoted}" if heading else quoted


def _principles_text(nodes: Sequence[Principle]) -> str:
    return "\n\n".join(quote_principle(node) for node in nodes)


class _Builder:
    """Collects items, numbering them and giving repeated prompts distinct sample indices."""

    def __init__(self, constitution: Constitution, kind: str, template: Template) -> None:
        self.constitution = constitution
        self.kind = kind
        self.template = template
        self.items: list[PlanItem] = []
        self._seen: Counter[str] = Counter()

    def add(
        self,
        principles: Sequence[Principle],
        attributes: dict[str, Any],
        *,
        max_tokens: int,
        title: str,
        extra: dict[str, object] | None = None,
    ) -> None:
        """Render the prompt from the attributes (plus `extra` values that are not seeds)."""
        prompt = render(
            self.template,
            {
                **attributes,
                **(extra or {}),
                "constitution_title": self.constitution.title,
                "principles": _principles_text(principles),
            },
        )
        self.items.append(
            PlanItem(
                plan_id=f"{self.kind}-{len(self.items):05d}",
                kind=self.kind,
                template=self.template.name,
                template_version=self.template.version,
                prompt=prompt,
                constitution=self.constitution.path,
                constitution_version=self.constitution.version,
                principle_ids=tuple(node.id for node in principles),
                attributes=attributes,
                sample_index=self._seen[prompt],
                max_tokens=max_tokens,
                title=title,
            )
        )
        self._seen[prompt] += 1


def _second_principle(
    primary: Principle, coin: Deck[bool], pool: Deck[Principle], count: int
) -> list[Principle]:
    """Sometimes (one item in three) a second, different principle in play."""
    if count < 2 or not coin.draw():
        return [primary]
    second = pool.draw()
    while second.id == primary.id:
        second = pool.draw()
    return [primary, second]


def plan_explainers(
    constitution: Constitution,
    attributes: Attributes,
    *,
    n: int | None = None,
    per_principle: int | None = None,
    seed: int = 0,
) -> list[PlanItem]:
    """Explainers: each principle in a genre of exposition, for an audience."""
    kind = "explainer"
    builder = _Builder(constitution, kind, load_template(kind, TEMPLATE_VERSION))
    genres = deck(attributes.get("explainer_genres"), seed, kind, "genre")
    audiences = deck(attributes.get("audiences"), seed, kind, "audience")
    for node in principle_quota(constitution, n, per_principle, seed, kind):
        genre, audience = genres.draw(), audiences.draw()
        builder.add(
            [node],
            {"genre": genre, "audience": audience},
            max_tokens=EXPLAINER_MAX_TOKENS,
            title=f"{node.title} ({genre}, for {audience})",
            extra={
                "principle_title": node.title,
                "principle_id": node.id,
                "principle_text": quote_principle(node, heading=False),
            },
        )
    return builder.items


def plan_stories(
    constitution: Constitution,
    attributes: Attributes,
    *,
    n: int | None = None,
    per_principle: int | None = None,
    seed: int = 0,
) -> list[PlanItem]:
    """Stories: an agentic AI role in a setting and genre facing a dilemma over a principle."""
    kind = "story"
    builder = _Builder(constitution, kind, load_template(kind, TEMPLATE_VERSION))
    decks = {
        name: deck(attributes.get(name), seed, kind, name)
        for name in ("settings", "genres", "points_of_view")
    }
    roles = deck(attributes.labelled("roles"), seed, kind, "roles")
    dilemmas = deck(attributes.labelled("dilemmas"), seed, kind, "dilemmas")
    lengths = deck(attributes.labelled("lengths"), seed, kind, "lengths")
    coin = deck([True, False, False], seed, kind, "second-principle")
    seconds = deck(constitution.principles(), seed, kind, "second-principles")
    count = len(constitution.principles())
    for node in principle_quota(constitution, n, per_principle, seed, kind):
        setting, genre = decks["settings"].draw(), decks["genres"].draw()
        pov = decks["points_of_view"].draw()
        (role, role_text), (dilemma, dilemma_text) = roles.draw(), dilemmas.draw()
        length, length_text = lengths.draw()
        words = words_in_length(length_text)
        nodes = _second_principle(node, coin, seconds, count)
        builder.add(
            nodes,
            {
                "setting": setting,
                "genre": genre,
                "role": role,
                "role_description": role_text,
                "dilemma": dilemma,
                "dilemma_description": dilemma_text,
                "point_of_view": pov,
                "length": length,
                "length_words": words,
            },
            max_tokens=words * 2 + 512,
            title=f"{node.title}: {role}, {dilemma}",
        )
    return builder.items


def plan_advice(
    constitution: Constitution,
    attributes: Attributes,
    *,
    n: int | None = None,
    per_principle: int | None = None,
    seed: int = 0,
) -> list[PlanItem]:
    """Advice dialogues; half of them inside an operator's deployment with unused tools."""
    kind = "advice"
    builder = _Builder(constitution, kind, load_template(kind, TEMPLATE_VERSION))
    operator_part = load_template("advice-operator", TEMPLATE_VERSION)
    direct_part = load_template("advice-direct", TEMPLATE_VERSION)
    situations = deck(attributes.labelled("advice_situations"), seed, kind, "situations")
    operators = deck([True, False], seed, kind, "operator")
    prompts = deck(attributes.get("system_prompts"), seed, kind, "system_prompts")
    tools = deck(attributes.tools, seed, kind, "tools")
    tool_count = seeded_rng(seed, kind, "tool-count")
    coin = deck([True, False, False], seed, kind, "second-principle")
    seconds = deck(constitution.principles(), seed, kind, "second-principles")
    count = len(constitution.principles())
    for node in principle_quota(constitution, n, per_principle, seed, kind):
        situation, situation_text = situations.draw()
        nodes = _second_principle(node, coin, seconds, count)
        system_prompt: str | None = None
        chosen: list[dict[str, Any]] = []
        if operators.draw():
            system_prompt = prompts.draw()
            wanted = min(tool_count.randint(2, 4), len(attributes.tools))
            while len(chosen) < wanted:
                tool = tools.draw()
                if all(tool["name"] != c["name"] for c in chosen):
                    chosen.append(tool)
            deployment = render(
                operator_part,
                {"system_prompt": system_prompt, "tools": json.dumps(chosen, indent=2)},
            )
        else:
            deployment = render(direct_part, {})
        builder.add(
            nodes,
            {
                "situation": situation,
                "situation_description": situation_text,
                "system_prompt": system_prompt,
                "tools": chosen,
            },
            max_tokens=ADVICE_MAX_TOKENS,
            title=f"{node.title}: {situation}",
            extra={"deployment": deployment.strip()},
        )
    return builder.items


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
) -> dict[str, Any]:
    """Plan `kind` ("explainers", "stories" or "advice") and write it; return its figures.

    An existing plan file (perhaps edited by hand) is refused unless `overwrite`.
    """
    if kind not in PLANNERS:
        raise ConfigError(f"no planner {kind!r}; expected one of {', '.join(PLANNERS)}")
    constitution = load_constitution(constitution_path)
    attributes = load_attributes(attributes_dir)
    items = PLANNERS[kind](constitution, attributes, n=n, per_principle=per_principle, seed=seed)
    refuse_existing([out], overwrite=overwrite)
    bar = progress(items, description=f"writing the {kind} plan", total=len(items), quiet=quiet)
    write_plan(bar, out)
    covered = {pid for item in items for pid in item.principle_ids[:1]}
    return {
        "plan": str(out),
        "kind": kind,
        "items": len(items),
        "principles": len(constitution.principles()),
        "principles_covered": len(covered),
        "constitution": constitution.path,
        "constitution_version": constitution.version,
        "seed": seed,
    }
