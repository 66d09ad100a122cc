"""The parsed constitution: a tree of heading nodes that own blocks of source.

Every non-blank line of the source belongs to exactly one place: the front
matter, a node's heading, or one of a node's blocks. That is what lets
`Constitution.reassemble` prove nothing was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from toolkit.constitution.options import PrincipleOptions

__all__ = ["Block", "Constitution", "Node", "Principle", "Segmentation", "SharedContext"]


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
    segment), joined by "/"; it survives edits to unrelated sections. Which
    principles a node yields is `Constitution.segmentation`'s business.
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


@dataclass(frozen=True, slots=True)
class Principle:
    """A unit of the constitution that documents are generated from.

    `body` is the Markdown a writer is shown; `words` counts the principle's
    own words (an item's lead-in belongs to its section). `spans` are the
    1-based source line ranges it owns. `normative` is False for context
    sections, with `reason` saying why; `context` is the shared text of the
    sections above it (short introductions), for a reader's orientation.
    """

    id: str
    title: str
    body: str
    kind: str
    section: str
    spans: tuple[tuple[int, int], ...]
    words: int
    normative: bool = True
    reason: str = ""
    context: str = ""

    @property
    def lines(self) -> tuple[int, int]:
        return self.spans[0][0], self.spans[-1][1]


@dataclass(frozen=True, slots=True)
class SharedContext:
    """A short introduction: normative text shared by the principles below it."""

    section: str
    text: str
    spans: tuple[tuple[int, int], ...]
    words: int


@dataclass(slots=True)
class Segmentation:
    """Every section's own text, assigned once: principles, shared context, context."""

    options: PrincipleOptions
    units: list[Principle] = field(default_factory=list)
    shared: list[SharedContext] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)

    def principles(self) -> list[Principle]:
        return [unit for unit in self.units if unit.normative]

    def context_units(self) -> list[Principle]:
        return [unit for unit in self.units if not unit.normative]

    def by_section(self, section: str) -> list[Principle]:
        return [unit for unit in self.units if unit.section == section]

    def words(self) -> dict[str, int]:
        return {
            "principles": sum(u.words for u in self.units if u.normative),
            "context": sum(s.words for s in self.shared),
            "excluded": sum(u.words for u in self.units if not u.normative),
        }


@dataclass(slots=True)
class Constitution:
    """A parsed constitution document.

    `version` is a hash of the whole source (line endings normalised), so any
    edit anywhere gives a new version. `segmentation` is the cut into
    principles, shared context and context sections (`toolkit.constitution.principles`).
    """

    path: str
    source: str
    version: str
    title: str
    root: Node
    front_matter: dict[str, Any] = field(default_factory=dict)
    front_matter_lines: tuple[int, int] | None = None
    segmentation: Segmentation | None = None
    #: Makes the cut at another granularity (set by the parser), for `resolve`.
    recut: Callable[[str], Segmentation] | None = field(default=None, repr=False, compare=False)
    other_cuts: dict[str, Segmentation] = field(default_factory=dict, repr=False, compare=False)

    def nodes(self) -> Iterator[Node]:
        """Every heading node (the root excluded), in document order."""
        for node in self.root.walk():
            if node.level > 0:
                yield node

    def cut(self) -> Segmentation:
        """The segmentation; a `Constitution` made by hand without one has none."""
        if self.segmentation is None:
            raise RuntimeError("constitution was built without a segmentation")
        return self.segmentation

    def principles(self) -> list[Principle]:
        """The normative principles, in document order: what documents are generated from."""
        return self.cut().principles()

    def units(self) -> list[Principle]:
        """Principles and context sections, in document order."""
        return list(self.cut().units)

    def node(self, node_id: str) -> Node | None:
        return next((node for node in self.root.walk() if node.id == node_id), None)

    def principle(self, principle_id: str) -> Principle | None:
        """The principle or context unit with this id, at this constitution's granularity."""
        return next((unit for unit in self.cut().units if unit.id == principle_id), None)

    def resolve(self, principle_id: str) -> tuple[str, str] | None:
        """Title and Markdown text for any id a document may cite, or None.

        Ids from another granularity resolve too (a plan cut per item, read
        with the section cut), as does a section id (its whole subtree), so
        documents generated before a re-cut still show their principle.
        """
        unit = self.principle(principle_id)
        if unit is not None:
            return unit.title, unit.body
        for granularity in ("item", "section"):
            if self.recut is None or granularity == self.cut().options.granularity:
                continue
            if granularity not in self.other_cuts:
                self.other_cuts[granularity] = self.recut(granularity)
            found = next(
                (u for u in self.other_cuts[granularity].units if u.id == principle_id), None
            )
            if found is not None:
                return found.title, found.body
        node = self.node(principle_id)
        if node is None or node.level == 0:
            return None
        return node.title, "\n\n".join(n.body for n in node.walk() if n.body.strip())
