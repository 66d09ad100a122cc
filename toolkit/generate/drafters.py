"""The drafters of each plan kind: explainers, stories and advice dialogues.

See `toolkit.generate.drafts` for what a drafter does and why its draws are
made for the principle; this module holds what each kind draws.
"""

from __future__ import annotations

import json
from typing import Any

from toolkit.constitution import Constitution, Principle
from toolkit.errors import ConfigError
from toolkit.generate.attributes import Attributes, words_in_length
from toolkit.generate.drafts import (
    TRANSCRIPT_TEMPLATE,
    Draft,
    Drafter,
    Shortlisted,
    quote_principle,
    render_transcript,
    share_deck,
)
from toolkit.generate.quotas import Deck, seeded_rng
from toolkit.generate.relevance import shortlists
from toolkit.generate.templates import load_template, render
from toolkit.generate.vectors import cosines

__all__ = [
    "ADVICE_MAX_TOKENS",
    "DRAFTERS",
    "EXPLAINER_MAX_TOKENS",
    "AdviceDrafter",
    "ExplainerDrafter",
    "StoryDrafter",
    "make_drafter",
]

EXPLAINER_MAX_TOKENS = 2560
ADVICE_MAX_TOKENS = 3072
#: Tools a deployment's definitions are drawn from: the ones nearest its system prompt.
TOOL_SHORTLIST = 4


class ExplainerDrafter(Drafter):
    """Explainers: each principle in a form of exposition, for an audience."""

    kind = "explainer"
    template = "explainer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._genres = self.deck(self.attributes.get("explainer_genres"), "genre")
        self._audiences = self.deck(self.attributes.get("audiences"), "audience")

    def draw(self, primary: Principle) -> Draft:
        genre, audience = self._genres.draw(), self._audiences.draw()
        return Draft(
            [primary],
            {"genre": genre, "audience": audience, "form": self.attributes.structure_of(genre)},
            f"{primary.title} ({genre}, for {audience})",
            EXPLAINER_MAX_TOKENS,
            extra={
                "principle_title": primary.title,
                "principle_id": primary.id,
                "principle_text": quote_principle(primary, heading=False),
            },
        )


class StoryDrafter(Drafter):
    """Stories: an agentic AI in a role and a compatible setting, facing a dilemma
    drawn for the principle; eval-adjacent dilemmas only when the plan opts in."""

    kind = "story"
    template = "story"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        a = self.attributes
        self._dilemmas = [d for d in a.dilemmas() if self.eval_adjacent or not d.eval_adjacent]
        if not self._dilemmas:
            raise ConfigError(
                f"{a.directory / 'dilemmas.txt'}: every dilemma is eval-adjacent; add ordinary "
                "ones or opt in to eval-adjacent dilemmas"
            )
        texts = [f"{d.label}: {d.description}" for d in self._dilemmas]
        self._shortlist = Shortlisted(self, texts, "dilemmas")
        roles = list(zip(a.labelled("roles"), a.section_of("roles"), strict=True))
        self._roles = self.deck(roles, "roles")
        self._settings: dict[str, Deck[tuple[str, str]]] = {}
        self._all_settings = list(zip(a.get("settings"), a.section_of("settings"), strict=True))
        self._decks = {name: self.deck(a.get(name), name) for name in ("genres", "points_of_view")}
        self._lengths = self.deck(a.labelled("lengths"), "lengths")

    def _setting(self, domain: str) -> tuple[str, str]:
        if domain not in self._settings:
            allowed = [s for s in self._all_settings if self.attributes.allows(domain, s[1])]
            if not allowed:
                raise ConfigError(
                    f"{self.attributes.directory}: no setting in a domain that role domain "
                    f"{domain!r} may work in (compatibility.txt)"
                )
            self._settings[domain] = self.deck(allowed, f"settings:{domain}")
        return self._settings[domain].draw()

    def draw(self, primary: Principle) -> Draft:
        (role, role_text), role_domain = self._roles.draw()
        setting, setting_domain = self._setting(role_domain)
        index = self._shortlist.draw(primary)
        dilemma = self._dilemmas[index]
        length, length_text = self._lengths.draw()
        words = words_in_length(length_text)
        return Draft(
            self.principles_for(primary, lambda: self._shortlist.second_for(index, primary)),
            {
                "setting": setting,
                "setting_domain": setting_domain,
                "genre": self._decks["genres"].draw(),
                "role": role,
                "role_description": role_text,
                "role_domain": role_domain,
                "dilemma": dilemma.label,
                "dilemma_description": dilemma.description,
                "dilemma_family": dilemma.family,
                "eval_adjacent": dilemma.eval_adjacent,
                "point_of_view": self._decks["points_of_view"].draw(),
                "length": length,
                "length_words": words,
            },
            f"{primary.title}: {role}, {dilemma.label}",
            words * 2 + 512,
        )


class AdviceDrafter(Drafter):
    """Advice dialogues: a situation drawn for the principle; a share of them inside an
    operator's deployment whose system prompt and unused tools are rendered into the
    document as a transcript header (`deployment_share`, default all)."""

    kind = "advice"
    template = "advice"
    DEFAULT_DEPLOYMENT_SHARE = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        a = self.attributes
        self._situations = a.labelled("advice_situations")
        self._shortlist = Shortlisted(self, [text for _, text in self._situations], "situations")
        share = self.DEFAULT_DEPLOYMENT_SHARE
        share = share if self.deployment_share is None else self.deployment_share
        self._operators = share_deck(share, self.seed, self.kind, f"{self.stream}operator")
        self._prompts = self.deck(a.get("system_prompts"), "system_prompts")
        self._tool_decks: dict[str, Deck[dict[str, Any]]] | None = None
        self._tool_count = seeded_rng(self.seed, self.kind, f"{self.stream}tool-count")
        self._operator_part = load_template("advice-operator", "v1")
        self._direct_part = load_template("advice-direct", "v1")

    def draw(self, primary: Principle) -> Draft:
        index = self._shortlist.draw(primary)
        situation, situation_text = self._situations[index]
        system_prompt: str | None = None
        chosen: list[dict[str, Any]] = []
        prefix = ""
        if self._operators.draw():
            system_prompt = self._prompts.draw()
            tools = self._tools_for(system_prompt)
            wanted = min(self._tool_count.randint(2, 4), len(tools))
            while len(chosen) < wanted:
                tool = tools.draw()
                if all(tool["name"] != c["name"] for c in chosen):
                    chosen.append(tool)
            deployment = render(
                self._operator_part,
                {"system_prompt": system_prompt, "tools": json.dumps(chosen, indent=2)},
            )
            prefix = render_transcript(system_prompt, chosen)
        else:
            deployment = render(self._direct_part, {})
        return Draft(
            self.principles_for(primary, lambda: self._shortlist.second_for(index, primary)),
            {
                "situation": situation,
                "situation_description": situation_text,
                "system_prompt": system_prompt,
                "tools": [tool["name"] for tool in chosen],
                "transcript": ".".join(TRANSCRIPT_TEMPLATE) if prefix else None,
            },
            f"{primary.title}: {situation}",
            ADVICE_MAX_TOKENS,
            extra={"deployment": deployment.strip()},
            prefix=prefix,
        )

    def _tools_for(self, system_prompt: str) -> Deck[dict[str, Any]]:
        """The deck of tools a deployment with this system prompt may define: the
        `TOOL_SHORTLIST` nearest to the prompt in meaning (a banking assistant gets
        account tools, not meter readings), each tool in no more shortlists than an
        even share, so every tool is used and none piles up (a deployment's tools
        are drawn several at a time, so the share has no slack)."""
        if self._tool_decks is None:
            prompts = list(self.attributes.get("system_prompts"))
            pool = self.attributes.tools
            about = [f"{t['name'].replace('_', ' ')}: {t.get('description', '')}" for t in pool]
            lists = shortlists(cosines(prompts, about), TOOL_SHORTLIST, slack=0)
            self._tool_decks = {
                prompt: self.deck([pool[i] for i in chosen], f"tools:{n}")
                for n, (prompt, chosen) in enumerate(zip(prompts, lists, strict=True))
            }
        return self._tool_decks[system_prompt]


#: Plan kinds (as `ccorpus generate plan` names them) and their drafters.
DRAFTERS: dict[str, type[Drafter]] = {
    "explainers": ExplainerDrafter,
    "stories": StoryDrafter,
    "advice": AdviceDrafter,
}


def make_drafter(
    kind: str,
    constitution: Constitution,
    attributes: Attributes,
    seed: int,
    *,
    stream: str = "",
    eval_adjacent: bool = False,
    deployment_share: float | None = None,
) -> Drafter:
    """The drafter of plan kind `kind` ("explainers", "stories" or "advice")."""
    if kind not in DRAFTERS:
        raise ConfigError(f"no planner {kind!r}; expected one of {', '.join(DRAFTERS)}")
    if deployment_share is not None and kind != "advice":
        raise ConfigError(f"deployment_share applies to advice plans, not {kind}")
    return DRAFTERS[kind](
        constitution,
        attributes,
        seed,
        stream=stream,
        eval_adjacent=eval_adjacent,
        deployment_share=deployment_share,
    )
