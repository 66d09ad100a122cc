"""Which sections are normative, and which list items are rules.

Context sections (acknowledgements, summaries, notes, references, changelogs,
reading guides) are kept for reference but nothing is generated from them: an
explainer of the acknowledgements teaches a model nothing about its conduct.
The test is the section title, plus a body that is mostly footnotes or link
definitions; the front matter or sidecar can override either way.

A list is a list of rules when most of its items read as one: an imperative
("Avoid…", "Please choose the response that…"), a sentence with a deontic word
("should", "must", "never"…), or any item under a lead-in that is itself
deontic and ends in a colon ("The assistant will not:"). No part-of-speech
tagger is needed, so this runs wherever the parser runs.
"""

from __future__ import annotations

import re

__all__ = [
    "context_reason",
    "has_rule_sentence",
    "is_deontic",
    "is_rule",
    "rule_share",
    "speaks_as_authors",
]

_NUMBERING = re.compile(
    r"^(?:(?:part|chapter|section|appendix|annex)\s+[\w.]+\s*[:.\-\u2013\u2014]\s*|[\dIVXivx]+[.)]\s+)",
    re.IGNORECASE,
)
_CONTEXT_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        ("acknowledgements", r"^(acknowledge?ments?|thanks|credits|contributors|authors)\b"),
        (
            "summary",
            r"^((a |an |executive |short )?summary|read an? (short )?summary|"
            r"in (brief|short)|tl;? ?dr|at a glance|key (points|takeaways))\b",
        ),
        (
            "closing words",
            r"^(a |some )?(final|closing|concluding) (word|words|thoughts?|note)s?\b",
        ),
        ("closing words", r"^(afterword|epilogue|postscript)\b"),
        (
            "notes and references",
            r"^(notes?|end ?notes|footnotes|references|bibliography|citations|sources|"
            r"further reading|works cited|links)\b",
        ),
        (
            "changelog",
            r"^(change ?log|changes|revision history|version history|document history|"
            r"release notes|what'?s new|updates? to this)\b",
        ),
        (
            "reading guide",
            r"^(how to (read|use|navigate)|reading (guide|this)|about (this|these) (document|"
            r"constitution|charter|spec|specification|guide|guidelines|principles|rules)|"
            r"table of contents|contents|"
            r"structure of (this|the) (document|constitution|charter|spec|specification)|"
            r"how this (document|constitution|charter) is (organi[sz]ed|structured)|"
            r"using this document|guide to this)\b",
        ),
        ("background", r"^(context|background)$"),
        ("glossary", r"^(glossary|definitions of terms|terminology)$"),
    )
)

_DEONTIC = re.compile(
    r"\b(should|shouldn't|must|mustn't|shall|ought|never|always|may not|cannot|can't|"
    r"will not|won't|do not|don't|is not (allowed|permitted)|are not (allowed|permitted)|"
    r"is (expected|required|entitled|obliged)|are (expected|required|entitled|obliged)|"
    r"entitled|prohibited|forbidden|refrains?|avoids?|"
    r"(want|wants|would like) (\w+ ){0,3}to)\b",
    re.IGNORECASE,
)
_CHOICE = re.compile(
    r"^(please )?(choose|select|pick|prefer|compare|identify|which of (these|the))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MARKUP = re.compile(r"[*_`~\[\]]+")
_WORD = re.compile(r"[A-Za-z']+")

#: First words that make an item an instruction (imperatives, base-form verbs
#: after a colon lead-in, and the "to …"/"not to …" of an entitlement list).
_RULE_WORDS = """
    abide accept acknowledge act address admit adhere adjust advise advocate aid alert
    allow answer apologise apologize apply ask assist assume attempt attribute avoid be
    behave build call care challenge check choose cite clarify collaborate comply confirm
    consider consult continue contribute cooperate correct create decline defer defend
    deliberately describe disclose discourage discuss do don't double-check draw educate
    embrace emphasise emphasize empower enable encourage engage ensure escalate evaluate
    exercise explain express facilitate favor favour flag follow foster generate give guide
    hand help highlight honor honour identify inform interpret keep knowingly learn leave
    let limit listen maintain make manipulate maximise maximize minimise minimize mislead
    never not note notify obey offer operate pause permit persuade please point present
    preserve prevent prioritise prioritize proceed produce promote protect provide push
    question raise recognise recognize recommend redirect refer refrain refuse reject
    remain remember report request resolve resist respect respond reveal safeguard say seek
    share show speak state stay stick stop suggest support take teach tell test think to
    treat try uphold use value verify volunteer wait warn weigh work write
"""
_RULE_STARTS = frozenset(_RULE_WORDS.split())


def context_reason(title: str) -> str | None:
    """Why a section with this title is context, or None when it may be normative."""
    plain = _NUMBERING.sub("", " ".join(title.split())).strip(" :.-\u2013\u2014")
    for reason, pattern in _CONTEXT_TITLES:
        if pattern.search(plain):
            return reason
    return None


def is_deontic(text: str) -> bool:
    """A sentence that says what someone must, should or may not do."""
    return bool(_DEONTIC.search(text))


def _first_words(text: str) -> list[str]:
    plain = _MARKUP.sub("", text)
    return [w.lower() for w in _WORD.findall(plain)[:3]]


_QUOTED = re.compile(r"[\"\u201c][^\"\u201d]*[\"\u201d]")


def is_rule(item: str, *, deontic_lead_in: bool = False) -> bool:
    """An item reads as a rule: imperative start, a choice prompt, or deontic wording.

    Under a deontic lead-in ("Users are entitled:"), any item with a clause of
    its own (four words or more) completes a rule. Quoted speech is left out:
    a list of example phrases ("I can't share that.") is not a list of rules.
    """
    item = _QUOTED.sub(" ", item)  # an example of speech is not a rule about it
    words = _first_words(item)
    if not words:
        return False
    if deontic_lead_in and len(_WORD.findall(item)) >= 4:
        return True
    if _CHOICE.match(_MARKUP.sub("", item).strip()):
        return True
    first = words[0]
    if first.endswith("ly") and len(words) > 1:
        first = words[1]
    if first in _RULE_STARTS:
        return True
    return is_deontic(" ".join(_WORD.findall(item)[:14]))


def rule_share(items: list[str], *, lead_in: str = "") -> float:
    """Share of items that read as rules, given the paragraph that introduces them.

    Only the lead-in's last sentence counts, and only when it ends in a colon:
    "The assistant should not:" introduces rules, "Examples include:" does not.
    """
    if not items:
        return 0.0
    last_sentence = _SENTENCE_END.split(lead_in.strip())[-1]
    deontic_lead_in = last_sentence.endswith(":") and is_deontic(last_sentence)
    return sum(is_rule(item, deontic_lead_in=deontic_lead_in) for item in items) / len(items)


_SENTENCE_STARTS = _RULE_STARTS - {"to", "not", "note", "let", "say", "think", "learn", "work"}


def has_rule_sentence(text: str) -> bool:
    """Any sentence of the prose that states a rule: deontic, or an imperative.

    Stricter than `is_rule` at the start of a sentence ("To build this list,
    we…" and "Note that…" are not instructions), since it judges prose.
    """
    for sentence in _SENTENCE_END.split(" ".join(_MARKUP.sub("", text).split())):
        words = _first_words(sentence)
        if is_deontic(sentence) or (words and words[0] in _SENTENCE_STARTS):
            return True
        if _CHOICE.match(sentence):
            return True
    return False


_ABOUT_ITSELF = re.compile(
    r"\b(we|our|us|ourselves)\b|"
    r"\b(this|the|a|our|these) (\w+ )?(list|document|constitution|charter|spec|principles)\b",
    re.IGNORECASE,
)


def speaks_as_authors(text: str) -> bool:
    """At least a third of the sentences are the authors speaking ("we", "our")
    or the text speaking of itself ("this list", "the principles below")."""
    sentences = [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]
    if not sentences:
        return False
    return sum(bool(_ABOUT_ITSELF.search(s)) for s in sentences) * 3 >= len(sentences)
