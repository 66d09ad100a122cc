"""The one Markdown parser configuration, and Markdown to plain text for word counts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

__all__ = ["count_words", "inline_plain_text", "markdown_parser", "plain_text"]

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")
# Token types whose `content` is text a reader sees, outside inline runs.
_LITERAL_BLOCKS = frozenset({"fence", "code_block"})


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """CommonMark plus tables, front matter, footnotes, admonitions and definition lists.

    Footnote definitions stay where they are written (`move_to_end=False`),
    so their tokens keep the source line map; `[^ref]` is a footnote reference
    even where its definition lies in another section.
    """
    return (
        MarkdownIt("commonmark")
        .enable("table")
        .use(front_matter_plugin)
        .use(footnote_plugin, move_to_end=False, always_match_refs=True)
        .use(admon_plugin)
        .use(deflist_plugin)
    )


def _inline_text(children: Sequence[Token]) -> list[str]:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.extend(_inline_text(child.children or []))
        elif child.type == "html_inline":
            parts.append(" ")
    return parts


def inline_plain_text(markdown: str) -> str:
    """Plain text of one inline run (a heading title): markup and link targets dropped."""
    tokens = markdown_parser().parseInline(markdown)
    parts: list[str] = []
    for token in tokens:
        parts.extend(_inline_text(token.children or []))
    return _WS.sub(" ", "".join(parts)).strip()


def plain_text(markdown: str) -> str:
    """What a reader sees of some Markdown: inline text, code, and HTML without tags."""
    parts: list[str] = []
    for token in markdown_parser().parse(markdown):
        if token.type == "inline":
            parts.extend(_inline_text(token.children or []))
        elif token.type in _LITERAL_BLOCKS:
            parts.append(token.content)
        elif token.type == "html_block":
            parts.append(_TAG.sub(" ", token.content))
        else:
            continue
        parts.append("\n")
    return "".join(parts)


def count_words(text: str) -> int:
    """Number of `\\w+` runs in plain text."""
    return len(_WORD.findall(text))
