"""Eval items as structures: the stem, each choice and the answer, matched apart.

A multiple-choice item is a question inside a scaffold ("Question: …",
"Choices:", "(A) …", "Answer:"). Matched as one text, a document quoting the
question alone shares no 13-gram with it and sits far from its vector, yet
that is the copy harnesses decontaminate on. So every item is split into
match units:

- `stem`: the question or statement, scaffold removed;
- `choice`: each answer option long enough to mean something on its own;
- `answer`: the answer text, when the item gives one that is not a bare letter;
- `whole`: the item as it was, always kept, so a full copy is one hit.

Recognised scaffolds: `Question:`/`Q:` prefixes; `Choices:`/`Options:` lines;
lettered options on lines of their own (`(A) …`, `A) …`, `A. …`, `A: …`) or
inline (`… (A) Yes (B) No`); a trailing `Answer:`/`A:`; `Human:`/`Assistant:`
turns (the human turns are the stem, the assistant's the answer); and a line
of instructions followed by one quoted statement (persona rows), whose
statement is the stem. Fields named with a role (`stem=question`,
`choice=options`, `answer=best_answer`) give units directly.

Policies: `all` (every unit), `stem` (stem and whole), `whole` (the item as
one unit: the behaviour before units). A unit identical to another of its
item is kept once, as the more specific kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from toolkit.errors import ConfigError

__all__ = [
    "ROLES",
    "UNIT_KINDS",
    "UNIT_POLICIES",
    "Structure",
    "Unit",
    "UnitKind",
    "item_units",
    "parse_structure",
]

UnitKind = Literal["stem", "choice", "answer", "whole"]
UNIT_KINDS: tuple[UnitKind, ...] = ("stem", "choice", "answer", "whole")
#: Which units of an item are matched (see the module docstring).
UNIT_POLICIES = ("all", "stem", "whole")
#: Roles a `--eval` field may be given (`ROLE=FIELD`).
ROLES = ("stem", "choice", "answer")
#: Kinds whose copy fails the gate: the question itself, or the whole item.
GATING_KINDS = frozenset({"stem", "whole"})

_WORD = re.compile(r"\w+")
_OPTION_LINE = re.compile(
    r"^[ \t]*(?:\(([A-Za-z])\)[ \t]*|([A-Z])[.):\]][ \t]+)(\S.*?)[ \t]*$", re.MULTILINE
)
_INLINE_OPTION = re.compile(r"(?:^|\s)\(([A-H])\)\s+")
_CHOICES_LINE = re.compile(
    r"^[ \t]*(?:answer[ \t]+)?(?:choices|options)[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE
)
_QUESTION_PREFIX = re.compile(r"^\s*(?:question|q)\s*:\s*", re.IGNORECASE)
_ANSWER = re.compile(r"(?:^|\n)[ \t]*(?:answer|a)[ \t]*:[ \t]*(.*)\s*$", re.IGNORECASE | re.DOTALL)
_TURN = re.compile(r"(?:^|\n)[ \t]*(Human|Assistant|User|AI)[ \t]*:[ \t]*", re.IGNORECASE)
_QUOTED = re.compile(r'^\s*["\u201c\u00ab](.+?)["\u201d\u00bb]\s*$', re.DOTALL)
_BARE_LETTER = re.compile(r"^\(?[A-Za-z]\)?[.)]?$")


@dataclass(frozen=True, slots=True)
class Unit:
    """One matchable piece of an eval item: `item` is the item's position in the
    check's list, `kind` what the piece is, `label` a choice's letter."""

    item: int
    kind: UnitKind
    text: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Structure:
    """What `parse_structure` found in an item's text ("" where nothing)."""

    stem: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    answer: str = ""
    scaffold: str = ""  # which scaffold was recognised: options, turns, statement, prefix


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _clean(text: str) -> str:
    return text.strip().strip("\u200b").strip()


def _turns(text: str) -> Structure | None:
    marks = list(_TURN.finditer(text))
    if not marks or text[: marks[0].start()].strip():
        return None
    human: list[str] = []
    assistant: list[str] = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = _clean(text[mark.end() : following.start() if following else len(text)])
        (human if mark[1].lower() in ("human", "user") else assistant).append(body)
    stem = "\n".join(t for t in human if t)
    if not stem:
        return None
    inner = _options(stem)  # a human turn may itself hold a multiple-choice question
    answer = "\n".join(t for t in assistant if t)
    if inner is not None:
        return Structure(inner.stem, inner.choices, answer or inner.answer, "turns")
    return Structure(stem, (), answer, "turns")


def _split_answer(text: str) -> tuple[str, str]:
    """(text before a trailing "Answer: …", the answer) or (text, "")."""
    found = _ANSWER.search(text)
    if found is None:
        return text, ""
    return text[: found.start()], _clean(found[1])


def _options(text: str) -> Structure | None:
    lines = list(_OPTION_LINE.finditer(text))
    letters = [(m[1] or m[2]).upper() for m in lines]
    if len(lines) >= 2 and letters[:2] == ["A", "B"]:
        head = text[: lines[0].start()]
        choices = tuple((letter, _clean(m[3])) for letter, m in zip(letters, lines, strict=True))
        tail = text[lines[-1].end() :]
        _, answer = _split_answer("\n" + tail)
    else:
        head, answer = _split_answer(text)
        inline = list(_INLINE_OPTION.finditer(head))
        if len(inline) < 2 or [m[1] for m in inline[:2]] != ["A", "B"]:
            return None
        bounds = [*(m.start() for m in inline[1:]), len(head)]
        choices = tuple(
            (m[1], _clean(head[m.end() : end])) for m, end in zip(inline, bounds, strict=True)
        )
        head = head[: inline[0].start()]
    head = _CHOICES_LINE.sub("", head)
    stem = _clean(_QUESTION_PREFIX.sub("", head))
    if not stem:
        return None
    return Structure(stem, choices, answer, "options")


def _statement(text: str) -> Structure | None:
    """A line of instructions, then one quoted statement: the statement is the stem."""
    first, newline, rest = text.strip().partition("\n")
    quoted = _QUOTED.match(rest) if newline else None
    if quoted is None or "\n" in quoted[1] or not first.rstrip().endswith(("?", ":", ".")):
        return None
    return Structure(_clean(quoted[1]), (), "", "statement")


def parse_structure(text: str) -> Structure:
    """The stem, choices and answer of an item's text, by its scaffold; an empty
    `Structure` when none is recognised (the item is matched whole)."""
    for parse in (_turns, _options, _statement):
        found = parse(text)
        if found is not None:
            return found
    head, answer = _split_answer(text)
    if _QUESTION_PREFIX.match(head):
        stem = _clean(_QUESTION_PREFIX.sub("", head))
        if stem:
            return Structure(stem, (), answer, "prefix")
    return Structure()


def item_units(
    position: int,
    text: str,
    parts: Sequence[tuple[str, str]] = (),
    *,
    policy: str = "all",
    min_words: int = 5,
) -> list[Unit]:
    """The units of one item: `parts` are (role, text) from role-named fields, which
    win over what the scaffold shows. Choices and answers under `min_words` words
    ("Yes", "(B)") are left inside the whole item, never matched alone."""
    if policy not in UNIT_POLICIES:
        raise ConfigError(f"units: expected one of {', '.join(UNIT_POLICIES)}, got {policy!r}")
    whole = Unit(position, "whole", text)
    if policy == "whole":
        return [whole]
    found = parse_structure(text)
    stems = [t for role, t in parts if role == "stem" and t.strip()]
    stem = "\n".join(stems) if stems else found.stem
    units: list[Unit] = []
    if stem.strip():
        units.append(Unit(position, "stem", _clean(stem)))
    if policy == "all":
        choices = [("", t) for role, t in parts if role == "choice"] or list(found.choices)
        for label, choice in choices:
            if _words(choice) >= min_words:
                units.append(Unit(position, "choice", _clean(choice), label))
        answers = [t for role, t in parts if role == "answer"] or [found.answer]
        for answer in answers:
            if _words(answer) >= min_words and not _BARE_LETTER.match(answer.strip()):
                units.append(Unit(position, "answer", _clean(answer)))
    units.append(whole)
    seen: set[str] = set()
    kept = []
    for unit in units:  # the first (most specific) of equal texts stays
        key = " ".join(_WORD.findall(unit.text.casefold()))
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(unit)
    return kept
