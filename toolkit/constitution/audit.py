"""Proof that parsing lost nothing: reassemble the pieces, and check them line by line.

`lost_paragraphs` does not trust the parser: it re-reads the original source,
counts how often each line is claimed by the front matter, a heading or a
block, and checks each block's text against the lines it says it holds.
"""

from __future__ import annotations

from toolkit.constitution.model import Constitution

__all__ = ["lost_paragraphs", "reassemble", "unassigned_blocks"]


def _source_lines(constitution: Constitution) -> list[str]:
    return constitution.source.split("\n")


def _span(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start - 1 : end])


def reassemble(constitution: Constitution) -> str:
    """Front matter, headings and blocks in document order, joined by newlines.

    Blank lines between pieces are not kept, so compare non-blank lines.
    """
    lines = _source_lines(constitution)
    pieces: list[tuple[int, str]] = []
    if constitution.front_matter_lines is not None:
        start, end = constitution.front_matter_lines
        pieces.append((start, _span(lines, start, end)))
    for node in constitution.root.walk():
        if node.heading_start is not None and node.heading_end is not None:
            pieces.append((node.heading_start, _span(lines, node.heading_start, node.heading_end)))
        pieces.extend((block.start, block.source) for block in node.blocks)
    pieces.sort(key=lambda piece: piece[0])
    return "\n".join(text for _, text in pieces)


def lost_paragraphs(constitution: Constitution) -> list[tuple[int, int]]:
    """Line ranges of source paragraphs with a line not held exactly once, faithfully.

    A paragraph is a maximal run of non-blank lines of the original source. A
    line is held faithfully when exactly one piece claims it and, for a block,
    the block's text equals the source lines of its range. Pieces whose range
    falls outside the source spoil every line of theirs that exists.
    """
    lines = _source_lines(constitution)
    total = len(lines)
    claims = [0] * (total + 2)
    spoiled = [False] * (total + 2)

    def claim(start: int, end: int, text: str | None) -> None:
        inside = range(max(start, 1), min(end, total) + 1)
        faithful = 1 <= start <= end <= total and (text is None or text == _span(lines, start, end))
        for number in inside:
            claims[number] += 1
            spoiled[number] = spoiled[number] or not faithful

    if constitution.front_matter_lines is not None:
        claim(*constitution.front_matter_lines, None)
    for node in constitution.root.walk():
        if node.heading_start is not None or node.heading_end is not None:
            start = node.heading_start if node.heading_start is not None else 0
            end = node.heading_end if node.heading_end is not None else 0
            claim(start, end, None)
        for block in node.blocks:
            claim(block.start, block.end, block.source)

    lost: list[tuple[int, int]] = []
    start_of_run: int | None = None
    for number in range(1, total + 2):
        blank = number > total or lines[number - 1].strip(" \t") == ""
        if not blank and start_of_run is None:
            start_of_run = number
        elif blank and start_of_run is not None:
            run = range(start_of_run, number)
            if any(claims[n] != 1 or spoiled[n] for n in run):
                lost.append((start_of_run, number - 1))
            start_of_run = None
    return lost


def unassigned_blocks(constitution: Constitution) -> list[tuple[int, int]]:
    """Line ranges of section text not in exactly one principle, shared context or
    context section: the proof that the cut into principles, too, lost nothing."""
    cut = constitution.cut()
    claims: dict[int, int] = {}
    spans = [span for unit in cut.units for span in unit.spans]
    spans += [span for shared in cut.shared for span in shared.spans]
    for start, end in spans:
        for number in range(start, end + 1):
            claims[number] = claims.get(number, 0) + 1
    lines = _source_lines(constitution)
    bad: list[tuple[int, int]] = []
    for node in constitution.root.walk():
        for block in node.blocks:
            text_lines = [n for n in range(block.start, block.end + 1) if lines[n - 1].strip(" \t")]
            if any(claims.get(n, 0) != 1 for n in text_lines):
                bad.append((block.start, block.end))
    return bad
