"""Report pages rendered from Jinja2 templates shipped in `toolkit/data/templates/reports/`.

The build report, the contamination report (HTML and Markdown) and the mix's
data card are templates filled from plain data. HTML templates (`*.html.j2`)
render with autoescape on, so any string from a report (generated text, eval
items, principle titles) is shown as text; only `Markup` (the inline SVG
charts, whose labels are escaped where they are drawn) goes in as markup.
Markdown templates (`*.md.j2`) render with autoescape off; user text goes in
through one of two filters:

- `md`: inline text, with the characters that would make Markdown or HTML of
  it backslash-escaped (`` \\ ` * [ | ~ ``; `<` before a tag or link; `_`
  unless inside a word; `&` before an entity; a leading `#`, `>`, `- ` or
  `1. `), and line breaks joined, so it cannot end a table cell or open a
  block, and text that makes no markup comes out unchanged;
- `code`: a code span that holds any text (its fence is longer than any run
  of backticks inside); `code(cell=True)` also escapes `|` for a table cell.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from toolkit.packaged import data_path

__all__ = ["REPORT_TEMPLATES", "md_code", "md_text", "number", "render_page"]

REPORT_TEMPLATES = data_path("templates", "reports")

_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]")
_ALWAYS = re.compile(r"([\\`*\[|~]|<(?=[A-Za-z/!?]))")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# What opens a block at the start of a line: heading, quote, list item, rule.
_LEAD = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|>|[-+](?=\s|$)|-{3,}|={3,}|\d{1,9}(?=[.)](?:\s|$)))")


def _underscore(match: re.Match[str]) -> str:
    """`_` between two word characters cannot start or end emphasis; any other can."""
    text, at = match.string, match.start()
    inner = 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()
    return "_" if inner else "\\_"


def md_text(value: Any) -> str:
    """`value` as inline Markdown text that renders as itself and makes no markup."""
    text = _LINE_BREAK.sub(" ", str(value))
    text = _ALWAYS.sub(r"\\\1", text)
    text = re.sub("_", _underscore, text)
    text = _ENTITY.sub(r"\\&", text)
    return _LEAD.sub(lambda m: f"{m[1]}\\{m[2]}" if not m[2].isdigit() else f"{m[1]}{m[2]}\\", text)


def md_code(value: Any, cell: bool = False) -> str:
    """`value` as a code span; with `cell`, pipes are escaped for a table cell."""
    text = _LINE_BREAK.sub(" ", str(value))
    runs = [len(run) for run in re.findall("`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def number(value: Any, spec: str = "") -> str:
    """A number by a format spec (`,` thousands, `.1%`); without one, integers with
    thousands separators and floats to four significant digits. Anything else as text."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        if not spec:
            spec = ",.4g" if isinstance(value, float) and abs(value) < 1e6 else ",.0f"
        return format(value, spec)
    return str(value)


@cache
def _environment(html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(REPORT_TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(md=md_text, code=md_code, num=number)
    return env


def render_page(name: str, /, **context: Any) -> str:
    """Render the report template `name`: autoescaped HTML for `*.html.j2`, else Markdown."""
    return _environment(name.endswith(".html.j2")).get_template(name).render(context)
