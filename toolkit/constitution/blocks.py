"""Cut a Markdown source into front matter, top-level headings and blocks by line.

Every non-blank line ends up in exactly one piece. Top-level tokens with a
source map claim their lines first; lines that no token claims (link reference
definitions, and anything a plugin leaves unmapped) become blocks of their own,
so nothing is ever dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it.token import Token

from toolkit.constitution.model import Block

__all__ = ["HeadingLine", "Layout", "is_blank", "layout"]

_KINDS = {
    "paragraph_open": "paragraph",
    "bullet_list_open": "bullet_list",
    "ordered_list_open": "ordered_list",
    "blockquote_open": "blockquote",
    "table_open": "table",
    "admonition_open": "admonition",
    "footnote_reference_open": "footnote",
    "dl_open": "deflist",
}
_FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^[^\]\s]+\]:")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[(?:[^\]\\]|\\.)+\]:")
_INDENTED = re.compile(r"^(?: {2,}|\t)")


def is_blank(line: str) -> bool:
    """Blank as CommonMark means it: nothing but spaces and tabs."""
    return line.strip(" \t") == ""


@dataclass(frozen=True, slots=True)
class HeadingLine:
    """A top-level heading: its Markdown level (1-6), 1-based lines and inline text."""

    level: int
    start: int
    end: int
    raw: str


@dataclass(slots=True)
class Layout:
    """The pieces of one source, each piece's lines claimed once."""

    lines: list[str]
    front_matter: tuple[int, int] | None = None
    front_matter_content: str = ""
    headings: list[HeadingLine] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


class _Claims:
    """Which source lines (1-based) already belong to a piece."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._taken = [False] * (len(lines) + 2)

    def free_runs(self, start: int, end: int) -> list[tuple[int, int]]:
        """Unclaimed runs within start..end, blank lines trimmed from both ends."""
        runs: list[tuple[int, int]] = []
        run_start: int | None = None
        for number in range(start, end + 2):
            free = number <= end and not self._taken[number]
            if free and run_start is None:
                run_start = number
            elif not free and run_start is not None:
                trimmed = self._trim(run_start, number - 1)
                if trimmed is not None:
                    runs.append(trimmed)
                run_start = None
        return runs

    def _trim(self, start: int, end: int) -> tuple[int, int] | None:
        while start <= end and is_blank(self.lines[start - 1]):
            start += 1
        while end >= start and is_blank(self.lines[end - 1]):
            end -= 1
        return (start, end) if start <= end else None

    def take(self, start: int, end: int) -> None:
        for number in range(start, end + 1):
            self._taken[number] = True

    def is_free_text(self, number: int) -> bool:
        return not self._taken[number] and not is_blank(self.lines[number - 1])


def layout(lines: list[str], tokens: Sequence[Token]) -> Layout:
    """Assign every non-blank line to front matter, a top-level heading or a block."""
    result = Layout(lines)
    claims = _Claims(lines)
    last = len(lines)
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting < 0 or token.map is None:
            continue
        start, end = token.map[0] + 1, min(token.map[1], last)
        if token.type == "front_matter" and result.front_matter is None:
            result.front_matter = (start, end)
            result.front_matter_content = token.content
            claims.take(start, end)
        elif token.type == "heading_open":
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            raw = inline.content if inline is not None and inline.type == "inline" else ""
            for run_start, run_end in claims.free_runs(start, end):
                result.headings.append(HeadingLine(int(token.tag[1:]), run_start, run_end, raw))
                claims.take(run_start, run_end)
        else:
            kind = _KINDS.get(token.type, token.type.removesuffix("_open"))
            for run_start, run_end in claims.free_runs(start, end):
                result.blocks.append(_block(lines, kind, run_start, run_end))
                claims.take(run_start, run_end)
    result.blocks.extend(_unclaimed_blocks(lines, claims))
    result.blocks.sort(key=lambda block: block.start)
    return result


def _block(lines: list[str], kind: str, start: int, end: int) -> Block:
    return Block(kind, start, end, "\n".join(lines[start - 1 : end]))


def _unclaimed_blocks(lines: list[str], claims: _Claims) -> list[Block]:
    """Blocks for the non-blank lines no token claimed, split at each definition."""
    segments: list[tuple[str, int, int]] = []
    number = 1
    while number <= len(lines):
        if not claims.is_free_text(number):
            number += 1
            continue
        kind = _unclaimed_kind(lines[number - 1])
        extends_footnote = (
            kind == "text"
            and bool(_INDENTED.match(lines[number - 1]))
            and bool(segments)
            and segments[-1][0] == "footnote"
            and all(is_blank(line) for line in lines[segments[-1][2] : number - 1])
        )
        if extends_footnote:
            kind, start, _ = segments.pop()
        else:
            start = number
        end = number
        while end < len(lines) and claims.is_free_text(end + 1):
            if _unclaimed_kind(lines[end]) != "text":
                break
            end += 1
        segments.append((kind, start, end))
        number = end + 1
    blocks = [_block(lines, kind, start, end) for kind, start, end in segments]
    for block in blocks:
        claims.take(block.start, block.end)
    return blocks


def _unclaimed_kind(line: str) -> str:
    if _FOOTNOTE_DEF.match(line):
        return "footnote"
    if _REFERENCE_DEF.match(line):
        return "reference"
    return "text"
