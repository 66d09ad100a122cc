"""Figures and JSON views of a parsed constitution, shared by the CLI and the library."""

from __future__ import annotations

from collections import Counter
from typing import Any

from toolkit.constitution.audit import lost_paragraphs
from toolkit.constitution.markdown import count_words, plain_text
from toolkit.constitution.model import Constitution, Node

__all__ = ["node_to_dict", "node_words", "stats", "tree_depth"]


def node_words(node: Node) -> int:
    """Words (`\\w+`) in the node's heading title and the plain text of its own body.

    The root's title counts only when it comes from a heading in the source.
    """
    words = 0
    if node.level > 0 or node.heading_start is not None:
        words += count_words(node.title)
    if node.blocks:
        words += count_words(plain_text(node.body))
    return words


def tree_depth(node: Node) -> int:
    """Levels of headings below `node` (0 for a leaf)."""
    return 1 + max(tree_depth(child) for child in node.children) if node.children else 0


def _line_count(source: str) -> int:
    """Lines as an editor counts them: a final newline does not start another line."""
    return source.count("\n") + (0 if source.endswith("\n") else 1)


def stats(constitution: Constitution) -> dict[str, Any]:
    """Headline figures: sections, principles, words, lost paragraphs, blocks by kind."""
    kinds: Counter[str] = Counter()
    for node in constitution.root.walk():
        kinds.update(block.kind for block in node.blocks)
    return {
        "title": constitution.title,
        "version": constitution.version,
        "lines": _line_count(constitution.source),
        "sections": sum(1 for _ in constitution.nodes()),
        "principles": len(constitution.principles()),
        "words": sum(node_words(node) for node in constitution.root.walk()),
        "max_depth": tree_depth(constitution.root),
        "lost_paragraphs": len(lost_paragraphs(constitution)),
        "blocks_by_kind": dict(sorted(kinds.items())),
    }


def node_to_dict(node: Node, depth: int | None = None) -> dict[str, Any]:
    """The node and its subtree as plain JSON data; `depth` limits the heading levels shown."""
    line_range = node.line_range
    children = [] if depth == 0 else node.children
    below = None if depth is None else depth - 1
    return {
        "id": node.id,
        "title": node.title,
        "level": node.level,
        "anchor": node.anchor,
        "attrs": dict(node.attrs),
        "lines": list(line_range) if line_range is not None else None,
        "words": node_words(node),
        "is_principle": node.is_principle,
        "body": node.body,
        "children": [node_to_dict(child, below) for child in children],
    }
