"""Markdown constitution to `Constitution`: a tree of heading nodes owning their blocks.

Only top-level headings make structure; a heading inside a list, quote or
admonition stays part of that block. Node ids are heading paths of slugs (an
explicit `{#anchor}` wins), so editing one section leaves the ids of the others
alone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from toolkit.constitution.blocks import HeadingLine, Layout, layout
from toolkit.constitution.classify import context_reason
from toolkit.constitution.frontmatter import parse_front_matter
from toolkit.constitution.markdown import inline_plain_text, markdown_parser
from toolkit.constitution.model import Constitution, Node
from toolkit.constitution.options import options_from
from toolkit.constitution.principles import segment
from toolkit.constitution.slugs import SegmentAllocator, slugify, split_heading_label
from toolkit.errors import InputError

__all__ = [
    "NO_PRINCIPLES",
    "load_constitution",
    "normalise_newlines",
    "parse_constitution",
    "source_version",
]


def normalise_newlines(text: str) -> str:
    """ "\\r\\n" and lone "\\r" become "\\n"; a leading byte-order mark is dropped."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def source_version(source: str) -> str:
    """First 16 hex digits of sha256 of the source, line endings normalised."""
    return hashlib.sha256(normalise_newlines(source).encode("utf-8")).hexdigest()[:16]


_GENERIC_TITLE = re.compile(
    r"^(overview|introduction|intro|preface|preamble|foreword|purpose|scope|"
    r"getting started|general|part (one|1|i)\b.*|chapter (one|1|i)\b.*)$",
    re.IGNORECASE,
)

#: What the parser takes for a principle, said where a file has none.
NO_PRINCIPLES = (
    "no principles found: a constitution needs Markdown headings (## Section) with text "
    "or list items under them; a lone # heading is the title, not a section"
)


def load_constitution(path: str | Path, *, granularity: str | None = None) -> Constitution:
    """Read and parse a UTF-8 Markdown file; `InputError` names the path if it cannot.

    A file with no principle (a heading with body text and no sub-headings)
    is refused here, so every command that loads one (`constitution show`,
    `generate plan`, `build`) says what a constitution needs, rather than
    failing later on an empty list. `parse_constitution` accepts any text.
    """
    file = Path(path)
    if not file.exists():
        raise InputError(f"{file}: no such file; expected a Markdown constitution")
    if not file.is_file():
        raise InputError(f"{file}: not a regular file; expected a Markdown constitution")
    try:
        data = file.read_bytes()
    except OSError as err:
        raise InputError(f"{file}: cannot be read ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{file}: not UTF-8 (bad byte at offset {err.start}); expected a UTF-8 Markdown file"
        ) from None
    constitution = parse_constitution(text, str(file), granularity=granularity)
    if not constitution.principles():
        raise InputError(f"{file}: {NO_PRINCIPLES}")
    return constitution


def parse_constitution(
    text: str, path: str = "<string>", *, granularity: str | None = None
) -> Constitution:
    """Parse Markdown text and cut it into principles.

    `path` names the file in messages, is the last resort for the title, and
    locates the sidecar `NAME.principles.toml` (see `toolkit.constitution.options`);
    `granularity` overrides the file's setting.
    """
    source = normalise_newlines(text)
    if not source.strip():
        raise InputError(f"{path}: empty; expected Markdown with at least one line of text")
    lines = source.split("\n")
    pieces = layout(lines, markdown_parser().parse(source))
    front_matter = {}
    if pieces.front_matter is not None:
        front_matter = parse_front_matter(
            pieces.front_matter_content, path, pieces.front_matter[0] + 1
        )
    options = options_from(front_matter, path).with_granularity(granularity)
    root = _build_tree(pieces)
    title = _title(front_matter, pieces, path)
    root.title = title
    return Constitution(
        path=path,
        source=source,
        version=source_version(source),
        title=title,
        root=root,
        front_matter=front_matter,
        front_matter_lines=pieces.front_matter,
        segmentation=segment(root, options),
        recut=lambda granularity: segment(root, replace(options, granularity=granularity)),
    )


def _title(front_matter: dict[str, object], pieces: Layout, path: str) -> str:
    """The front matter's title, else the first H1, else the file name.

    Where several H1s make the sections, the first is a title only if it does
    not read as a section's name ("Overview", "Introduction", "Summary"...).
    """
    value = front_matter.get("title")
    if value is not None and str(value).strip():
        return str(value).strip()
    h1s = [heading for heading in pieces.headings if heading.level == 1]
    title = _label(h1s[0])[0] if h1s else ""
    if len(h1s) > 1 and (_GENERIC_TITLE.match(title) or context_reason(title)):
        title = ""
    return title or Path(path).stem or path


def _label(heading: HeadingLine) -> tuple[str, str | None, dict[str, str]]:
    """Plain-text title, explicit anchor and attributes of a heading."""
    label = split_heading_label(heading.raw)
    return inline_plain_text(label.text), label.anchor, label.attrs


def _build_tree(pieces: Layout) -> Node:
    """Nest headings under the nearest shallower one; attach blocks to the heading above."""
    headings = pieces.headings
    root = Node(id="", title="", level=0)
    title_heading = _title_heading(headings)
    stack: list[tuple[int, Node]] = [(0, root)]
    if title_heading is not None:
        title, anchor, attrs = _label(title_heading)
        root.title, root.anchor, root.attrs = title, anchor, attrs
        root.heading_start, root.heading_end = title_heading.start, title_heading.end
        stack = [(1, root)]
    segments = SegmentAllocator()
    blocks = iter(pieces.blocks)
    pending = next(blocks, None)
    for heading in headings:
        while pending is not None and pending.start < heading.start:
            stack[-1][1].blocks.append(pending)
            pending = next(blocks, None)
        if heading is title_heading:
            continue
        while len(stack) > 1 and stack[-1][0] >= heading.level:
            stack.pop()
        parent = stack[-1][1]
        title, anchor, attrs = _label(heading)
        segment = segments.allocate(parent.id, anchor or slugify(title))
        node = Node(
            id=f"{parent.id}/{segment}" if parent.id else segment,
            title=title,
            level=heading.level,
            heading_start=heading.start,
            heading_end=heading.end,
            anchor=anchor,
            attrs=attrs,
        )
        parent.children.append(node)
        stack.append((heading.level, node))
    while pending is not None:
        stack[-1][1].blocks.append(pending)
        pending = next(blocks, None)
    return root


def _title_heading(headings: list[HeadingLine]) -> HeadingLine | None:
    """The first heading, if it is the document's one and only H1."""
    if not headings or headings[0].level != 1:
        return None
    if any(heading.level == 1 for heading in headings[1:]):
        return None
    return headings[0]
