"""The offline backend: deterministic documents composed without any model.

It exists so the whole pipeline (plan, run, filter, mix) can be exercised and
demonstrated with no key and no network; its output is the first corpus a new
user reads, so it must read as a coherent, if plain, document. It composes
each document from the request's context (kind, attributes, principles) and
its own versioned composition templates (`offline-*.v3`): each explainer
form by its structure (an FAQ asks questions, a dialogue has speakers, a
letter a salutation), a story in the present tense told by the AI or about
it, an advice dialogue in the user's own first-person words. The principle's
sentences it quotes are whole sentences (`toolkit.generate.sentences`),
chosen by relevance to the scenario: the nearest in meaning to the dilemma or
situation (for an explainer, to the principle as a whole). Attribute
descriptions written for a model are never pasted: a dilemma is retold with
the agent's name, a situation in the user's voice.

Phrasing varies by choices seeded from the request key: documents differ,
reruns agree. It never pretends to be a model: every result says model
"offline", mode "offline", and zero usage. It never reads a prompt, so it
cannot judge (`reads_prompts` is False): a request without a plan item's
context gets an error result saying so; any other exception while composing
is a bug and propagates rather than becoming a per-request error.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.errors import ConfigError
from toolkit.generate.backends.base import (
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    Usage,
)
from toolkit.generate.backends.offline_voice import (
    as_quotation,
    first_person,
    ranked_quotes,
    retold,
    scenario_of,
    speakers,
)
from toolkit.generate.sentences import principle_sentences
from toolkit.generate.templates import Template, load_template
from toolkit.generate.vectors import cosines

__all__ = [
    "OFFLINE_TEMPLATE_VERSION",
    "OfflineBackend",
    "first_person",
    "principle_sentences",
    "ranked_quotes",
]

OFFLINE_TEMPLATE_VERSION = "v3"
STRUCTURES = ("faq", "dialogue", "notes", "letter")

_BLANKS = re.compile(r"\n{3,}")
_PLACEHOLDER = re.compile(r"\$(\w+)")
#: Slots whose alternatives answer another slot's, line for line: chosen by the same index.
_PAIRED = {"advice_reply": "advice_pushback"}


def _hash(*parts: object) -> int:
    return int(hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:16], 16)


def _parse_phrases(template: Template) -> dict[str, list[str]]:
    """`## slot` headings, each followed by one alternative a line."""
    slots: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in template.text.splitlines():
        if line.startswith("## "):
            current = slots.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return slots


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _context_problem(context: Mapping[str, Any], kinds: Sequence[str]) -> str | None:
    """What the context lacks for composing a document, or None when it is usable."""
    if not context:
        return "no plan item context (kind, principles)"
    kind = context.get("kind")
    if kind not in kinds:
        return f"kind {kind!r} is not one of {', '.join(kinds)}"
    principles = context.get("principles")
    if not isinstance(principles, list) or not principles:
        return "no principles"
    for principle in principles:
        if not isinstance(principle, dict) or not all(
            isinstance(principle.get(key), str) for key in ("id", "title", "text")
        ):
            return "a principle without a string id, title and text"
    return None


class OfflineBackend:
    """Composes explainers, stories and advice dialogues from request context."""

    name = "offline"
    #: It composes from a plan item's context and never reads the prompt.
    reads_prompts = False

    def __init__(self, version: str = OFFLINE_TEMPLATE_VERSION) -> None:
        if version != OFFLINE_TEMPLATE_VERSION:
            raise ConfigError(
                f"the offline backend composes with its {OFFLINE_TEMPLATE_VERSION} templates; "
                f"got version {version!r}"
            )
        self.version = version
        self._phrases = _parse_phrases(load_template("offline-phrases", version))
        self._skeletons = {
            kind: load_template(f"offline-{kind}", version)
            for kind in ("explainer", "story", "advice")
        }
        for structure in STRUCTURES:
            self._skeletons[structure] = load_template(f"offline-explainer-{structure}", version)

    def __repr__(self) -> str:
        return f"OfflineBackend(version={self.version!r})"

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        """Answer each request at once; a request without usable context gets an error result.

        Nothing is sent or billed, so `on_sent` is never called.
        """
        kinds = ("advice", "explainer", "story")
        usable = [r for r in requests if _context_problem(r.context, kinds) is None]
        self._prepare([r.context for r in usable])
        for request in requests:
            problem = _context_problem(request.context, kinds)
            if problem is not None:
                error = (
                    f"the offline backend composes documents from a plan item and never reads "
                    f"a prompt; this request has {problem}"
                    if problem.startswith("no ")
                    else f"the offline backend cannot compose this request's context: {problem}"
                )
                on_result(
                    GenerationResult(
                        key=request.key,
                        model="offline",
                        text=None,
                        error=error,
                        mode="offline",
                        failure=Failure(error, service="the offline backend"),
                    )
                )
                continue
            text = self.compose(request.key, request.context)
            on_result(
                GenerationResult(
                    key=request.key,
                    model="offline",
                    text=text,
                    usage=Usage(),
                    stop_reason="end_turn",
                    mode="offline",
                )
            )

    @staticmethod
    def _prepare(contexts: Sequence[Mapping[str, Any]]) -> None:
        """Embed every sentence and scenario of a batch at once (vectors are remembered)."""
        texts = {scenario_of(c) for c in contexts}
        for context in contexts:
            for principle in context["principles"]:
                texts.update(principle_sentences(principle["text"]))
        cosines(sorted(texts)[:1], sorted(texts))

    def compose(self, key: str, context: Mapping[str, Any]) -> str:
        """The document for `context` (kind, attributes, principles), seeded by `key`."""
        kind = context["kind"]
        principles = context["principles"]
        primary = principles[0]
        attributes = dict(context.get("attributes") or {})
        scenario = scenario_of(context)
        quotes = ranked_quotes(principle_sentences(primary["text"]), scenario)
        values: dict[str, object] = {
            **{k: v for k, v in attributes.items() if isinstance(v, str | int)},
            "constitution_title": context.get("constitution_title", "the constitution"),
            "principle_title": primary["title"],
            "principle_id": primary["id"],
        }
        for index, quote in enumerate(quotes[:4]):
            values[f"quote{index + 1}"] = as_quotation(quote)
        if isinstance(attributes.get("setting"), str):
            # "a fishing cooperative ..., present day": the place without its era reads better.
            values["place"] = attributes["setting"].rsplit(", ", 1)[0]
            values["Place"] = _cap(str(values["place"]))
        values["agent"] = self._pick(key, "agent_name", values)
        values["human"] = self._pick(key, "human_name", values)
        if isinstance(attributes.get("dilemma_description"), str):
            values["Dilemma_sentence"] = retold(
                attributes["dilemma_description"], str(values["agent"])
            )
        if isinstance(attributes.get("situation_description"), str):
            spoken = first_person(attributes["situation_description"])
            values["Situation_first"], values["situation_first"] = spoken, spoken
        if len(principles) > 1:
            second = principles[1]
            values["second_title"] = second["title"]
            values["second_quote"] = as_quotation(
                ranked_quotes(principle_sentences(second["text"]), scenario)[0]
            )
        values["deployment_note"] = ""
        if attributes.get("system_prompt"):
            values["deployment_note"] = self._pick(key, "advice_operator_note", values) + " "
        skeleton = self._skeletons[kind]
        prefixes = [f"{kind}_"]
        if kind == "story" and str(attributes.get("point_of_view", "")).startswith(
            "first person as the AI"
        ):
            prefixes.insert(0, "story_first_")
        if kind == "explainer":
            structure = str(attributes.get("form", "prose"))
            if structure in STRUCTURES:
                skeleton = self._skeletons[structure]
                prefixes.insert(0, f"explainer_{structure}_")
            values["speaker1"], values["speaker2"] = speakers(str(attributes.get("genre", "")))
        wanted = len(principles) > 1 or (kind == "explainer" and "quote4" in values)
        for name in _PLACEHOLDER.findall(skeleton.text):
            if name in values:
                continue
            if name == "second" and not wanted:
                values[name] = ""
                continue
            slot = next((p + name for p in prefixes if p + name in self._phrases), None)
            values[name] = self._pick(key, slot, values) if slot else ""
        text = string.Template(skeleton.text).substitute({k: str(v) for k, v in values.items()})
        return _BLANKS.sub("\n\n", text).strip() + "\n"

    def _pick(self, key: str, slot: str, values: Mapping[str, object]) -> str:
        """One alternative of `slot`, among those whose placeholders `values` can fill;
        a paired slot takes its partner's index, filling a missing quote with the last."""
        options = self._phrases.get(slot) or []
        if not options:
            return ""
        fill = {k: str(v) for k, v in values.items()}
        if slot in _PAIRED:
            chosen = options[_hash(key, _PAIRED[slot]) % len(options)]
            quotes = [fill[q] for q in ("quote1", "quote2", "quote3", "quote4") if q in fill]
            for index in range(1, 5):
                fill.setdefault(f"quote{index}", quotes[-1] if quotes else "")
            return string.Template(chosen).substitute(fill)
        usable = [o for o in options if set(_PLACEHOLDER.findall(o)) <= set(fill)]
        if not usable:
            return ""
        return string.Template(usable[_hash(key, slot) % len(usable)]).substitute(fill)
