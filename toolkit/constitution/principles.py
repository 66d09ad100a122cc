"""Cut a parsed constitution into principles, shared context and context sections.

The rule, applied to each section's own text (its blocks, not its sub-sections):
- A section with no sub-sections is one principle, its id the section id.
- A section with sub-sections (and the document's text before the first
  section) has an introduction of its own: at least `intro_min_words` words,
  it is a principle `ID/_intro`; shorter, it is context shared by every
  principle below it (a framing sentence is not a principle).
- A list of rules (see `toolkit.constitution.classify`) is cut into one
  principle per item, `ID/item-N`, numbered across the section. Each item's
  text starts with the paragraph that introduces the list when that paragraph
  ends in a colon ("The assistant will not:"), so an item never reads as its
  opposite. The rest of the section is handled like an introduction.
- A context section (acknowledgements, notes, ...) and everything under it is
  kept whole, marked not normative, and never generated from.
- In a constitution of listed rules (at least half its principles are items),
  a prose section that states no rule at all (no "should", "never", no
  imperative sentence) and where the authors speak ("we", "our") in a third
  of its sentences is context too: it is the document talking about itself,
  like a blog post's "how we wrote this list".
So every word of every section body is in exactly one principle, one shared
context or one context section.
"""

from __future__ import annotations

from dataclasses import replace

from toolkit.constitution.classify import (
    context_reason,
    has_rule_sentence,
    rule_share,
    speaks_as_authors,
)
from toolkit.constitution.items import LIST_KINDS, ListItem, list_items
from toolkit.constitution.markdown import count_words, plain_text
from toolkit.constitution.model import Block, Node, Principle, Segmentation, SharedContext
from toolkit.constitution.options import PrincipleOptions, match_depth

__all__ = ["KINDS", "Principle", "Segmentation", "SharedContext", "segment"]

#: Principle kinds: a whole section, a parent's own introduction, one listed rule.
KINDS = ("section", "intro", "item")
_EXCLUDED = "excluded by the principles settings"
_NOTE_KINDS = frozenset({"footnote", "reference"})
_RULE_SHARE = 0.6
_MIN_AUTO_ITEMS = 3


def _words(blocks: list[Block]) -> int:
    return sum(count_words(plain_text(block.source)) for block in blocks)


def _spans(blocks: list[Block]) -> tuple[tuple[int, int], ...]:
    return tuple((block.start, block.end) for block in blocks)


def _body(blocks: list[Block]) -> str:
    return "\n\n".join(block.source for block in blocks)


def _role(node: Node, options: PrincipleOptions, parent_reason: str | None) -> str | None:
    """None when normative; else why the section is context."""
    include = match_depth(options.include, node.id)
    exclude = match_depth(options.exclude, node.id)
    if include >= 0 and include >= exclude:
        return None
    if exclude >= 0:
        return _EXCLUDED
    if parent_reason is not None:
        return parent_reason
    reason = context_reason(node.title)
    if reason is not None:
        return reason
    total = _words(node.blocks)
    notes = _words([b for b in node.blocks if b.kind in _NOTE_KINDS])
    if total and notes / total >= 0.8:
        return "notes and references"
    return None


def _lead_in(blocks: list[Block], index: int) -> str:
    if index == 0:
        return ""
    before = blocks[index - 1]
    return (
        before.source if before.kind == "paragraph" and before.source.rstrip().endswith(":") else ""
    )


def _rule_lists(node: Node, options: PrincipleOptions) -> dict[int, list[ListItem]]:
    """Block index → items, for each list of this section that is cut per item."""
    if options.granularity == "section" or node.level == 0:
        return {}
    named = match_depth(options.lists, node.id) >= 0
    cut: dict[int, list[ListItem]] = {}
    for index, block in enumerate(node.blocks):
        if block.kind not in LIST_KINDS:
            continue
        items = list_items(block)
        if (named and items) or (options.granularity == "item" and len(items) >= 2):
            cut[index] = items
        elif len(items) >= _MIN_AUTO_ITEMS:
            share = rule_share([i.text for i in items], lead_in=_lead_in(node.blocks, index))
            if share >= _RULE_SHARE:
                cut[index] = items
    return cut


class _Cutter:
    def __init__(self, options: PrincipleOptions) -> None:
        self.result = Segmentation(options)
        self.options = options
        self._shared_text: dict[str, str] = {}

    def _context_parts(self, node_id: str) -> list[str]:
        """Shared text of the root, each ancestor and the section itself, top first."""
        parts = node_id.split("/") if node_id else []
        chain = [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return [self._shared_text[c] for c in chain if c in self._shared_text]

    def visit(self, node: Node, parent_reason: str | None) -> None:
        reason = None if node.level == 0 else _role(node, self.options, parent_reason)
        if node.level > 0:
            self.result.roles[node.id] = "normative" if reason is None else "context"
        if node.blocks:
            if reason is not None:
                self._context_section(node, reason)
            else:
                self._normative(node)
        for child in node.children:
            self.visit(child, reason)

    def _unit(
        self,
        node: Node,
        suffix: str,
        kind: str,
        blocks: list[Block],
        *,
        reason: str | None = None,
    ) -> Principle:
        return self._make(node, suffix, kind, _body(blocks), _spans(blocks), _words(blocks), reason)

    def _make(
        self,
        node: Node,
        suffix: str,
        kind: str,
        body: str,
        spans: tuple[tuple[int, int], ...],
        words: int,
        reason: str | None = None,
    ) -> Principle:
        node_id = f"{node.id}/{suffix}" if node.id and suffix else (node.id or suffix)
        context = [part for part in self._context_parts(node.id) if part not in body]
        return Principle(
            id=node_id,
            title=node.title,
            body=body,
            kind=kind,
            section=node.id,
            spans=spans,
            words=words,
            normative=reason is None,
            reason=reason or "",
            context="\n\n".join(context),
        )

    def _context_section(self, node: Node, reason: str) -> None:
        leaf = not node.children and node.level > 0
        suffix, kind = ("", "section") if leaf else ("_intro", "intro")
        self.result.units.append(self._unit(node, suffix, kind, node.blocks, reason=reason))

    def _share(self, node: Node, blocks: list[Block], words: int) -> None:
        text = _body(blocks)
        self._shared_text[node.id] = text
        self.result.shared.append(SharedContext(node.id, text, _spans(blocks), words))

    def _normative(self, node: Node) -> None:
        if node.level == 0 and not node.children:
            self._share(node, node.blocks, _words(node.blocks))
            return
        lists = _rule_lists(node, self.options)
        leaf = not node.children and node.level > 0
        if leaf and not lists:
            self.result.units.append(self._unit(node, "", "section", node.blocks))
            return
        prose = [b for i, b in enumerate(node.blocks) if i not in lists]
        words = _words(prose)
        if prose and words >= self.options.intro_min_words:
            self.result.units.append(self._unit(node, "_intro", "intro", prose))
        elif prose:
            self._share(node, prose, words)
        number = 0
        for index, items in lists.items():
            lead_in = _lead_in(node.blocks, index)
            for item in items:
                number += 1
                body = f"{lead_in}\n\n{item.source}" if lead_in else item.source
                words = count_words(plain_text(item.source))
                spans = ((item.start, item.end),)
                self.result.units.append(
                    self._make(node, f"item-{number}", "item", body, spans, words)
                )


_RULELESS = "the authors' prose, stating no rule, in a constitution of listed rules"


def _ruleless_prose(cut: Segmentation) -> None:
    """Mark rule-free prose as context when most principles are listed rules."""
    normative = cut.principles()
    items = sum(unit.kind == "item" for unit in normative)
    if not items or items * 2 < len(normative):
        return
    for index, unit in enumerate(cut.units):
        if (
            unit.normative
            and unit.kind != "item"
            and match_depth(cut.options.include, unit.id) < 0
            and not has_rule_sentence(text := plain_text(unit.body))
            and speaks_as_authors(text)
        ):
            cut.units[index] = replace(unit, normative=False, reason=_RULELESS)
            if unit.section:
                cut.roles[unit.section] = "context"


def _unit_overrides(cut: Segmentation) -> None:
    """`include`/`exclude` naming a principle itself (`rules/item-7`), not its section."""
    for index, unit in enumerate(cut.units):
        include = match_depth(cut.options.include, unit.id)
        exclude = match_depth(cut.options.exclude, unit.id)
        if unit.normative and exclude > include:
            cut.units[index] = replace(unit, normative=False, reason=_EXCLUDED)
        elif not unit.normative and include >= 0 and include >= exclude:
            cut.units[index] = replace(unit, normative=True, reason="")


def segment(root: Node, options: PrincipleOptions) -> Segmentation:
    """Cut the tree under `root` into principles by the module's rule."""
    cutter = _Cutter(options)
    cutter.visit(root, None)
    cutter.result.units.sort(key=lambda unit: unit.spans[0][0])
    if options.granularity != "section":
        _ruleless_prose(cutter.result)
    _unit_overrides(cutter.result)
    return cutter.result
