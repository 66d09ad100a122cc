"""Figures and JSON views of a parsed constitution, shared by the CLI and the library."""

from __future__ import annotations

from collections import Counter
from typing import Any

from toolkit.constitution.audit import lost_paragraphs, unassigned_blocks
from toolkit.constitution.markdown import count_words, plain_text
from toolkit.constitution.model import Constitution, Node
from toolkit.constitution.principles import Principle, Segmentation

__all__ = ["node_to_dict", "node_words", "principle_to_dict", "stats", "tree_depth"]


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
    """Headline figures: sections, principles by kind, where the words went, lost paragraphs.

    `words_in_principles`, `words_in_context` (short introductions shared by
    the principles below them) and `words_excluded` (context sections) add up
    to the words of all section bodies; headings are counted only in `words`.
    `unassigned_blocks` counts blocks with a line in no unit or in two (0
    when the cut is whole).
    """
    kinds: Counter[str] = Counter()
    for node in constitution.root.walk():
        kinds.update(block.kind for block in node.blocks)
    cut = constitution.cut()
    words = cut.words()
    return {
        "title": constitution.title,
        "version": constitution.version,
        "lines": _line_count(constitution.source),
        "sections": sum(1 for _ in constitution.nodes()),
        "principles": len(cut.principles()),
        "principles_by_kind": dict(Counter(unit.kind for unit in cut.principles())),
        "context_sections": [
            {"id": unit.id, "reason": unit.reason} for unit in cut.context_units()
        ],
        "granularity": cut.options.granularity,
        "words": sum(node_words(node) for node in constitution.root.walk()),
        "words_in_principles": words["principles"],
        "words_in_context": words["context"],
        "words_excluded": words["excluded"],
        "max_depth": tree_depth(constitution.root),
        "lost_paragraphs": len(lost_paragraphs(constitution)),
        "unassigned_blocks": len(unassigned_blocks(constitution)),
        "blocks_by_kind": dict(sorted(kinds.items())),
    }


def principle_to_dict(unit: Principle) -> dict[str, Any]:
    """A principle or context unit as plain JSON data."""
    return {
        "id": unit.id,
        "title": unit.title,
        "kind": unit.kind,
        "section": unit.section,
        "normative": unit.normative,
        "reason": unit.reason or None,
        "lines": list(unit.lines),
        "words": unit.words,
        "body": unit.body,
        "context": unit.context,
    }


def node_to_dict(
    node: Node, depth: int | None = None, cut: Segmentation | None = None
) -> dict[str, Any]:
    """The node and its subtree as plain JSON data; `depth` limits the heading levels shown.

    With the constitution's `cut`, each node also says its role (`normative`,
    `context` or `root`), the principles cut from its own text, and the words
    of its text shared as context.
    """
    line_range = node.line_range
    children = [] if depth == 0 else node.children
    below = None if depth is None else depth - 1
    units = cut.by_section(node.id) if cut is not None else []
    extra: dict[str, Any] = {}
    if cut is not None:
        context = next((unit for unit in units if not unit.normative), None)
        extra = {
            "role": "root" if node.level == 0 else cut.roles.get(node.id, "normative"),
            "reason": context.reason if context is not None else None,
            "principles": [principle_to_dict(unit) for unit in units],
            "shared_context_words": sum(s.words for s in cut.shared if s.section == node.id),
        }
    return {
        "id": node.id,
        "title": node.title,
        "level": node.level,
        "anchor": node.anchor,
        "attrs": dict(node.attrs),
        "lines": list(line_range) if line_range is not None else None,
        "words": node_words(node),
        "is_principle": any(unit.id == node.id and unit.normative for unit in units),
        "body": node.body,
        **extra,
        "children": [node_to_dict(child, below, cut) for child in children],
    }
