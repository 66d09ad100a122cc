"""The parsed constitution: a tree of heading nodes that own blocks of source.

Every non-blank line of the source belongs to exactly one place: the front
matter, a node's heading, or one of a node's blocks. That is what lets
`Constitution.reassemble` prove nothing was lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Block", "Constitution", "Node"]


@dataclass(frozen=True, slots=True)
class Block:
    """One top-level Markdown block (paragraph, list, table, quote, code, ...).

    `start` and `end` are 1-based, inclusive source line numbers; `source` is
    the exact source text of those lines.
    """

    kind: str
    start: int
    end: int
    source: str


@dataclass(slots=True)
class Node:
    """A section of the constitution: the root (level 0) or one heading.

    `id` is the heading path of slugs (an explicit `{#anchor}` wins for its
    segment), joined by "/"; it survives edits to unrelated sections.
    A node with no child headings and some body text is a *principle*.
    """

    id: str
    title: str
    level: int
    heading_start: int | None = None
    heading_end: int | None = None
    anchor: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def body(self) -> str:
        """The node's own Markdown source, blocks separated by a blank line."""
        return "\n\n".join(block.source for block in self.blocks)

    @property
    def is_principle(self) -> bool:
        return self.level > 0 and not self.children and bool(self.body.strip())

    @property
    def line_range(self) -> tuple[int, int] | None:
        """First and last source line of the heading and own blocks (not children)."""
        starts = [b.start for b in self.blocks] + [
            n for n in (self.heading_start,) if n is not None
        ]
        ends = [b.end for b in self.blocks] + [n for n in (self.heading_end,) if n is not None]
        if not starts:
            return None
        return min(starts), max(ends)

    def walk(self) -> Iterator[Node]:
        """This node, then its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(slots=True)
class Constitution:
    """A parsed constitution document.

    `version` is a hash of the whole source (line endings normalised), so any
    edit anywhere gives a new version.
    """

    path: str
    source: str
    version: str
    title: str
    root: Node
    front_matter: dict[str, Any] = field(default_factory=dict)
    front_matter_lines: tuple[int, int] | None = None

    def nodes(self) -> Iterator[Node]:
        """Every heading node (the root excluded), in document order."""
        for node in self.root.walk():
            if node.level > 0:
                yield node

    def principles(self) -> list[Node]:
        return [node for node in self.nodes() if node.is_principle]
