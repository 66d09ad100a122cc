"""Drafts: what one plan item is about, drawn for its principle, and the drafters' base.

A drafter draws an item's seed attributes for a given primary principle from
seeded decks (`toolkit.generate.quotas`): every value is dealt once before
any is dealt twice. Which values it may draw is decided by the principle and
the lists' own structure: a story's dilemma and an advice situation come from
the principle's shortlist (`toolkit.generate.relevance`), and so does the
second principle in play (when there is one): one of the principles nearest
to that situation, so a document never cites a principle its scene has
nothing to do with. A story's setting
from the domains its role may work in (`compatibility.txt`), and
eval-adjacent dilemmas only when a plan opts in. A drafter made with another
`stream` deals from decks of its own, so re-drawing a flagged item never
changes the items that were clear.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from toolkit.constitution import Constitution, Principle
from toolkit.errors import ConfigError
from toolkit.generate.attributes import Attributes
from toolkit.generate.quotas import Deck, deck
from toolkit.generate.relevance import principle_scores, shortlists
from toolkit.generate.templates import load_template, render

__all__ = [
    "SECOND_POOL",
    "SHORTLIST",
    "TRANSCRIPT_TEMPLATE",
    "Draft",
    "Drafter",
    "Shortlisted",
    "quote_principle",
    "render_transcript",
    "share_deck",
]

#: The model-neutral transcript the deployment context is rendered in (stories/README.md).
TRANSCRIPT_TEMPLATE = ("advice-transcript", "v1")
#: Candidates in each principle's shortlist, at least (more when the list is long).
SHORTLIST = 8
#: A second principle is drawn from the principles this near to the item's situation.
SECOND_POOL = 3
_SHARE_STEPS = 20  # a share is dealt exactly, per 20 items


@dataclass
class Draft:
    """One item before it is numbered: principles (primary first), seed attributes,
    title, token budget, template values that are not seeds, document prefix, and
    (once screened) how far it lies from the evals."""

    principles: list[Principle]
    attributes: dict[str, Any]
    title: str
    max_tokens: int
    extra: dict[str, object] = field(default_factory=dict)
    prefix: str = ""
    screening: dict[str, Any] = field(default_factory=dict)


def quote_principle(node: Principle, *, heading: bool = True) -> str:
    """A principle's full body as a Markdown quotation, under its title and id; its
    shared context (a section's lead-in), when it has one, first, unquoted."""
    lines = node.body.strip().splitlines()
    quoted = "\n".join(f"> {line}".rstrip() for line in lines)
    context = (getattr(node, "context", "") or "").strip()
    if context:
        quoted = f"Context: {context}\n\n{quoted}"
    return f"**{node.title}** (`{node.id}`)\n\n{quoted}" if heading else quoted


def render_transcript(system_prompt: str, tools: Sequence[dict[str, Any]]) -> str:
    """A system prompt and tool definitions as the transcript header of a document:
    `System:` then `Tools:`, one JSON Schema definition a line (name, description,
    parameters), the form most model families read."""
    lines = [
        json.dumps(
            {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool["input_schema"],
            },
            ensure_ascii=False,
        )
        for tool in tools
    ]
    template = load_template(*TRANSCRIPT_TEMPLATE)
    return render(template, {"system_prompt": system_prompt, "tools": "\n".join(lines)}).strip()


def share_deck(share: float, seed: int, kind: str, name: str) -> Deck[bool]:
    """True for `share` of the items, dealt exactly per 20 items."""
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"{name}: expected a share from 0 to 1, got {share}")
    trues = round(share * _SHARE_STEPS)
    return deck([True] * trues + [False] * (_SHARE_STEPS - trues), seed, kind, name)


class Drafter:
    """Draws the seed attributes of one kind's items; see the module docstring."""

    kind: ClassVar[str]
    template: ClassVar[str]

    def __init__(
        self,
        constitution: Constitution,
        attributes: Attributes,
        seed: int,
        *,
        stream: str = "",
        eval_adjacent: bool = False,
        deployment_share: float | None = None,
    ) -> None:
        self.constitution = constitution
        self.attributes = attributes
        self.seed = seed
        self.stream = stream
        self.eval_adjacent = eval_adjacent
        self.deployment_share = deployment_share
        self._count = len(constitution.principles())
        self._coin = self.deck([True, False, False], "second-principle")

    def deck(self, values: Sequence[Any], name: str) -> Deck[Any]:
        return deck(values, self.seed, self.kind, f"{self.stream}{name}")

    def principles_for(self, primary: Principle, near: Callable[[], Principle]) -> list[Principle]:
        """Sometimes (one item in three) a second, different principle in play:
        `near()`, one drawn for the item's situation."""
        if self._count < 2 or not self._coin.draw():
            return [primary]
        return [primary, near()]

    def draw(self, primary: Principle) -> Draft:
        raise NotImplementedError


class Shortlisted:
    """Per-principle decks over each principle's shortlist of candidates."""

    def __init__(self, drafter: Drafter, texts: Sequence[str], name: str) -> None:
        principles = drafter.constitution.principles()
        size = max(SHORTLIST, math.ceil(len(texts) / max(len(principles), 1)))
        self._scores = principle_scores(principles, texts)
        lists = shortlists(self._scores, size)
        self._lists = {p.id: lst for p, lst in zip(principles, lists, strict=True)}
        self._principles = principles
        self._drafter, self._name = drafter, name
        self._decks: dict[str, Deck[int]] = {}
        self._seconds: dict[tuple[int, str], Deck[Principle]] = {}
        self._pools: list[list[int]] | None = None

    def draw(self, principle: Principle) -> int:
        if principle.id not in self._decks:
            self._decks[principle.id] = self._drafter.deck(
                self._lists[principle.id], f"{self._name}:{principle.id}"
            )
        return self._decks[principle.id].draw()

    def second_for(self, candidate: int, primary: Principle) -> Principle:
        """A second principle for an item about `candidate`: dealt from the
        `SECOND_POOL` principles nearest to it, other than `primary`, each principle
        in no more candidates' pools than an even share (as shortlists are filled),
        so a principle near everything does not become every item's second."""
        key = (candidate, primary.id)
        if key not in self._seconds:
            if self._pools is None:  # the candidates' own shortlists of principles
                self._pools = shortlists(self._scores.T, SECOND_POOL + 1)
            near = [self._principles[i] for i in self._pools[candidate]]
            pool = [p for p in near if p.id != primary.id]
            self._seconds[key] = self._drafter.deck(
                pool[:SECOND_POOL], f"{self._name}-second:{candidate}:{primary.id}"
            )
        return self._seconds[key].draw()
