"""Whole, quotable sentences of a principle's Markdown body.

A quotation must read as a sentence: never a table row, a heading, a lead-in
that ends in a colon ("resolves the conflict in this order:") fused with the
next paragraph, or a whole bulleted list run together. So the body is cut
into blocks first; a list's items become sentences of their own, each
completed by the lead-in that introduces the list ("The assistant will
not: - produce ...;" becomes "The assistant will not produce ....").
"""

from __future__ import annotations

import re

__all__ = ["principle_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(A-Z])")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s*)+")
_INLINE = re.compile(r"\*\*|__|`|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_NOTE = re.compile(r"\[\^[^\]]+\]|\{#[^}]*\}|<!--.*?-->")
_SKIP = ("|", "#", "```", "!!!", ":::", "<")
_TRAILER = re.compile(r"[;,.:]?\s*(?:and|or)?\s*$")
MIN_WORDS, MAX_WORDS = 6, 45


def _clean(line: str) -> str:
    text = _QUOTE_MARK.sub("", line)
    text = _NOTE.sub("", _LINK.sub(r"\1", text))
    return " ".join(_INLINE.sub("", text).split())


def _blocks(text: str) -> list[list[str]]:
    """Paragraphs and lists, each a list of its non-blank lines; tables, headings,
    code and admonitions dropped."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fenced = False
    for raw in text.splitlines():
        stripped = _QUOTE_MARK.sub("", raw).strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced or stripped.startswith(_SKIP):
            if current:
                blocks.append(current)
                current = []
            continue
        if not stripped:
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(raw)
    if current:
        blocks.append(current)
    return blocks


def _items(lines: list[str]) -> list[str] | None:
    """A list block's items (continuation lines joined), or None for a paragraph."""
    if not _ITEM.match(_QUOTE_MARK.sub("", lines[0])):
        return None
    items: list[str] = []
    for line in lines:
        bare = _QUOTE_MARK.sub("", line)
        if _ITEM.match(bare):
            items.append(_clean(_ITEM.sub("", bare)))
        elif items:
            items[-1] += " " + _clean(bare)
    return items


def _complete(lead: str, item: str) -> str:
    """An item completed by its lead-in, as one sentence."""
    body = _TRAILER.sub("", item).strip()
    if not body or item.rstrip().endswith(":"):  # a nested list's own lead-in
        return ""
    if lead:
        return f"{lead.rstrip(':').rstrip()} {body[:1].lower()}{body[1:]}."
    return body[:1].upper() + body[1:] + ("" if body[-1] in ".!?" else ".")


def _balanced(sentence: str) -> bool:
    return (
        sentence.count('"') % 2 == 0
        and sentence.count("(") == sentence.count(")")
        and sentence.count("“") == sentence.count("”")
    )


def principle_sentences(text: str) -> list[str]:
    """Whole sentences of a principle's Markdown body, in order, each 6 to 45 words,
    ending in . ! or ?, with balanced quotes; list items completed by their lead-in."""
    units: list[str] = []
    lead = ""
    for block in _blocks(text):
        items = _items(block)
        if items is None:
            sentences = _SENTENCE_END.split(" ".join(_clean(line) for line in block))
            sentences = [s.strip() for s in sentences if s.strip()]
            lead = sentences[-1] if sentences and sentences[-1].endswith(":") else ""
            units += [s for s in sentences if not s.endswith(":")]
        else:
            units += [_complete(lead, item) for item in items]
    good = [
        s
        for s in units
        if MIN_WORDS <= len(s.split()) <= MAX_WORDS and s[-1:] in ".!?" and _balanced(s)
    ]
    if good:
        return good
    short = [s for s in units if len(s.split()) >= 3 and s[-1:] in ".!?"]
    return short or [_clean(text) or text.strip()]
