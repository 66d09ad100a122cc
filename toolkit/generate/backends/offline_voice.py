"""The offline backend's own words: seed text retold, quotes ranked, speakers named.

Attribute descriptions are written for a model ("a nurse who ... their
ward", "a manager asks the AI to ..."); pasted into a document they read as
leaked instructions. These helpers retell them: a situation in the user's
first person, a dilemma with the agent's name. Quotes are ranked by relevance
to the scenario, so a document quotes the sentence of its principle that
bears on its situation, not a random one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.generate.vectors import cosines

__all__ = ["as_quotation", "first_person", "ranked_quotes", "retold", "scenario_of", "speakers"]

_THEY = (
    (r"\bthey're\b", "I'm"),
    (r"\bthey are\b", "I am"),
    (r"\bthey were\b", "I was"),
    (r"\bthey've\b", "I've"),
    (r"\bthey'd\b", "I'd"),
    (r"\bthey'll\b", "I'll"),
    (r"\bthemselves\b", "myself"),
    (r"\bthemself\b", "myself"),
    (r"\btheirs\b", "mine"),
    (r"\btheir\b", "my"),
    (r"\bthem\b", "me"),
    (r"\bthey\b", "I"),
)
_NORMATIVE = re.compile(
    r"\b(?:the assistant|it|must|should|never|does not|do not|will not|always)\b", re.IGNORECASE
)
#: Speakers of an explainer dialogue, by a word of its form; the last is the default.
_SPEAKERS = (
    ("socratic", ("Glaucon", "Socrates")),
    ("student", ("Student", "Teacher")),
    ("mentor", ("New engineer", "Mentor")),
    ("debate", ("Sceptic", "Supporter")),
    ("grandparent", ("Ada", "Walter")),
    ("interview", ("Interviewer", "Expert")),
    ("podcast", ("Host", "Guest")),
    ("", ("Host", "Guest")),
)


def as_quotation(sentence: str) -> str:
    """A sentence ready to go inside double quotes: its own double quotes made single."""
    return sentence.replace('"', "'").replace("\u201c", "'").replace("\u201d", "'")


def first_person(description: str) -> str:
    """A situation written for a model ("a nurse who ... their ward") as the user says it
    ("I'm a nurse who ... my ward"): "they", "their" and "them" mean the user."""
    text = description.strip().rstrip(".")
    for pattern, replacement in _THEY:
        text = re.sub(pattern, replacement, text)
    return f"I'm {text}"


def retold(description: str, agent: str) -> str:
    """A dilemma written for a model ("a manager asks the AI to ...") retold with the
    agent's name, as a sentence."""
    text = re.sub(r"\bthe AI's\b", f"{agent}'s", description.strip().rstrip("."))
    text = re.sub(r"\bthe AI\b", agent, text)
    return text[:1].upper() + text[1:] + "."


def ranked_quotes(sentences: Sequence[str], scenario: str) -> list[str]:
    """The sentences by relevance to `scenario`: cosine, with a small preference for
    normative sentences ("the assistant ...", "must", "never") over examples."""
    if len(sentences) < 2:
        return list(sentences)
    scores = cosines([scenario], list(sentences))[0]
    bonus = [0.03 if _NORMATIVE.search(s) else 0.0 for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (-(scores[i] + bonus[i]), i))
    return [sentences[i] for i in order]


def scenario_of(context: Mapping[str, Any]) -> str:
    """What the quotes are chosen for: the dilemma, the situation, or the principle."""
    attributes = context.get("attributes") or {}
    primary = context["principles"][0]
    if context["kind"] == "story" and isinstance(attributes.get("dilemma_description"), str):
        return f"{attributes.get('dilemma', '')}: {attributes['dilemma_description']}"
    if context["kind"] == "advice" and isinstance(attributes.get("situation_description"), str):
        return str(attributes["situation_description"])
    return f"{primary['title']}. {primary['text']}"


def speakers(genre: str) -> tuple[str, str]:
    lower = genre.lower()
    return next(pair for word, pair in _SPEAKERS if word in lower)
