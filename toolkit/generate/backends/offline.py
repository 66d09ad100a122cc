"""The offline backend: deterministic documents composed without any model.

It exists so the whole pipeline (plan, run, filter, mix) can be exercised and
demonstrated with no key and no network. It composes each document from the
request's context (kind, attributes, principles) and its own versioned
composition templates, quoting sentences of the principle itself and varying
phrasing by choices seeded from the request key: documents differ, reruns
agree. It never pretends to be a model: every result says model "offline",
mode "offline", and zero usage. It never reads a prompt, so it cannot judge
(`reads_prompts` is False): a request without a plan item's context gets an
error result saying so; any other exception while composing is a bug and
propagates rather than becoming a per-request error.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.generate.backends.base import (
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    Usage,
)
from toolkit.generate.templates import Template, load_template, render

__all__ = ["OFFLINE_TEMPLATE_VERSION", "OfflineBackend", "principle_sentences"]

OFFLINE_TEMPLATE_VERSION = "v2"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z])")
_MARKUP = re.compile(r"^\s*(?:>\s*)+|^\s*(?:[-*+]|\d+[.)])\s+")
_INLINE = re.compile(r"\*\*|__|`")
_BLANKS = re.compile(r"\n{3,}")
#: Slots whose alternatives answer another slot's, line for line: chosen by the same index.
_PAIRED = {"advice_reply": "advice_pushback"}


def principle_sentences(text: str) -> list[str]:
    """Whole sentences of a principle's Markdown body (tables and markup dropped)."""
    lines = [
        _INLINE.sub("", _MARKUP.sub("", line))
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("|", "#", "```"))
    ]
    sentences = _SENTENCE_END.split(" ".join(line.strip() for line in lines))
    good = [s.strip() for s in sentences if len(s.split()) >= 6 and s.strip()[-1] in ".!?"]
    return good or [s.strip() for s in sentences if s.strip()] or [text.strip()]


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
        self.version = version
        self._phrases = _parse_phrases(load_template("offline-phrases", version))
        self._skeletons = {
            kind: load_template(f"offline-{kind}", version)
            for kind in ("explainer", "story", "advice")
        }

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
        kinds = sorted(self._skeletons)
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

    def compose(self, key: str, context: Mapping[str, Any]) -> str:
        """The document for `context` (kind, attributes, principles), seeded by `key`."""
        kind = context["kind"]
        principles = context["principles"]
        primary = principles[0]
        attributes = dict(context.get("attributes") or {})
        sentences = sorted(
            principle_sentences(primary["text"]), key=lambda s: _hash(key, "sentence", s)
        )
        values: dict[str, object] = {
            **{k: v for k, v in attributes.items() if isinstance(v, str | int)},
            "constitution_title": context.get("constitution_title", "the constitution"),
            "principle_title": primary["title"],
            "principle_id": primary["id"],
        }
        if isinstance(attributes.get("setting"), str):
            # "a fishing cooperative ..., present day": the place without its era reads better.
            values["place"] = attributes["setting"].rsplit(", ", 1)[0]
        for index in range(4):
            values[f"quote{index + 1}"] = sentences[index % len(sentences)]
        for name in ("dilemma_description", "situation_description"):
            if isinstance(attributes.get(name), str):
                values[_cap(name)] = _cap(attributes[name])
        values["agent"] = self._pick(key, "agent_name", values)
        values["human"] = self._pick(key, "human_name", values)
        if len(principles) > 1:
            second = principles[1]
            values["second_title"] = second["title"]
            options = principle_sentences(second["text"])
            values["second_quote"] = options[_hash(key, "second") % len(options)]
        # Stories weigh a second principle only when one is given; explainers always close
        # with another line of their own principle.
        wanted = len(principles) > 1 or kind == "explainer"
        values["second"] = self._pick(key, f"{kind}_second", values) if wanted else ""
        values["deployment_note"] = ""
        if attributes.get("system_prompt"):
            values["deployment_note"] = self._pick(key, "advice_operator_note", values) + " "
        for slot in sorted(self._phrases):
            prefix = f"{kind}_"
            if slot.startswith(prefix) and slot[len(prefix) :] not in values:
                values[slot[len(prefix) :]] = self._pick(key, slot, values)
        text = render(self._skeletons[kind], values)
        return _BLANKS.sub("\n\n", text).strip() + "\n"

    def _pick(self, key: str, slot: str, values: Mapping[str, object]) -> str:
        options = self._phrases.get(slot)
        if not options:
            return ""
        chosen = options[_hash(key, _PAIRED.get(slot, slot)) % len(options)]
        return string.Template(chosen).substitute({k: str(v) for k, v in values.items()})
