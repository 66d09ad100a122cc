"""Heading labels: the `{#anchor key=value}` suffix, slugs and unique id segments."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["HeadingLabel", "SegmentAllocator", "slugify", "split_heading_label"]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# A trailing `{...}` on a heading line, as pandoc and the model spec write it.
_ATTR_SUFFIX = re.compile(r"\s*\{([^{}]*)\}\s*$")
# One item inside the braces: `#anchor`, `.class`, `key=value` or `key="quoted value"`.
_ATTR_ITEM = re.compile(
    r"""\s*(?:
        \#(?P<anchor>[^\s{}#]+)
      | \.(?P<cls>[\w-]+)
      | (?P<key>[A-Za-z_][\w.:-]*)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'{}]+))
    )""",
    re.VERBOSE,
)


def slugify(text: str) -> str:
    """Lowercase ASCII slug: NFKD accents stripped, other runs become "-"; "section" if empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
    return slug or "section"


@dataclass(frozen=True, slots=True)
class HeadingLabel:
    """A heading's raw text split into its title text, anchor and attributes."""

    text: str
    anchor: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)


def split_heading_label(raw: str) -> HeadingLabel:
    """Split `Title {#anchor key=value .class}` into its parts.

    A trailing brace group counts as attributes only when every item in it is
    an anchor, a class or a key=value pair; otherwise it is part of the title.
    """
    match = _ATTR_SUFFIX.search(raw)
    if match is None:
        return HeadingLabel(raw.strip())
    parsed = _parse_attr_items(match.group(1))
    if parsed is None:
        return HeadingLabel(raw.strip())
    anchor, attrs = parsed
    return HeadingLabel(raw[: match.start()].strip(), anchor, attrs)


def _parse_attr_items(inside: str) -> tuple[str | None, dict[str, str]] | None:
    anchor: str | None = None
    attrs: dict[str, str] = {}
    classes: list[str] = []
    pos = 0
    while pos < len(inside):
        if inside[pos:].strip() == "":
            break
        item = _ATTR_ITEM.match(inside, pos)
        if item is None or item.end() == pos:
            return None
        if item.group("anchor") is not None:
            if anchor is not None:
                return None
            anchor = item.group("anchor")
        elif item.group("cls") is not None:
            classes.append(item.group("cls"))
        else:
            value = next(v for v in item.group("dq", "sq", "bare") if v is not None)
            attrs[item.group("key")] = value
        pos = item.end()
    if anchor is None and not attrs and not classes:
        return None
    if classes:
        attrs["class"] = " ".join(classes)
    return anchor, attrs


class SegmentAllocator:
    """Hands out id segments unique among the children of each parent.

    The first use of a segment under a parent keeps it; later ones get "-2",
    "-3", ... in document order (skipping any name a sibling already holds).
    """

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {}

    def allocate(self, parent_id: str, segment: str) -> str:
        taken = self._taken.setdefault(parent_id, set())
        candidate = segment
        number = 2
        while candidate in taken:
            candidate = f"{segment}-{number}"
            number += 1
        taken.add(candidate)
        return candidate
