"""A build stage's part of the report: one section of report.json and report.html.

A stage declares a `Section`: its key in report.json, its heading on the
page, `collect` (the figures, read only from the files the stage left
behind) and `view` (what the page template shows of them). `collect`
returns `ran(...)` when the stage's files are there, else `NOT_RUN`. A view
of a section the template does not know by key is shown generically: its
`lines` as paragraphs and `header` / `rows` as a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.pipeline.corpus_stats import NOT_RUN, ran
from toolkit.pipeline.layout import BuildLayout

__all__ = ["NOT_RUN", "Section", "load_json", "pick", "ran", "snippet"]

SNIPPET = 120

#: (layout, the stage's instance names, e.g. the mix names) -> the section's figures.
Collect = Callable[[BuildLayout, Sequence[str]], dict[str, Any]]
#: The section's figures (from report.json) -> what the template shows.
View = Callable[[dict[str, Any]], dict[str, Any]]


def _same(figures: dict[str, Any]) -> dict[str, Any]:
    return figures


@dataclass(frozen=True)
class Section:
    """One section of the build report, owned by the stage that declares it.

    `always`: shown even when the figures have no `status: ok` (the mixes
    section, which holds one status per mix).
    """

    key: str
    heading: str
    collect: Collect
    view: View = _same
    always: bool = False


def load_json(path: Path) -> dict[str, Any] | None:
    """A stage's JSON figures, or None when the stage has not written them."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def pick(data: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data.get(key) for key in keys}


def snippet(text: str, length: int = SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
