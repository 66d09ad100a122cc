"""The top-level items of a Markdown list block, each with its exact source lines."""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.constitution.blocks import is_blank
from toolkit.constitution.markdown import inline_plain_text, markdown_parser, plain_text
from toolkit.constitution.model import Block

__all__ = ["LIST_KINDS", "ListItem", "list_items"]

LIST_KINDS = frozenset({"bullet_list", "ordered_list"})


@dataclass(frozen=True, slots=True)
class ListItem:
    """One item: 1-based inclusive source lines, its Markdown and its plain text."""

    start: int
    end: int
    source: str
    text: str


def list_items(block: Block) -> list[ListItem]:
    """Items of a list block in order; nested lists stay inside their item.

    Lines are those of the source the block came from, so an item can be
    claimed exactly once by the audit, like a block.
    """
    if block.kind not in LIST_KINDS:
        return []
    lines = block.source.split("\n")
    items: list[ListItem] = []
    for token in markdown_parser().parse(block.source):
        if token.type != "list_item_open" or token.level != 1 or token.map is None:
            continue
        first, last = token.map[0], min(token.map[1], len(lines)) - 1
        while last > first and is_blank(lines[last]):
            last -= 1
        source = "\n".join(lines[first : last + 1])
        text = " ".join(plain_text(source).split()) or inline_plain_text(source)
        items.append(ListItem(block.start + first, block.start + last, source, text))
    return items
