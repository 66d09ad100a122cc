"""Attribute lists that planners draw from: settings, genres, roles, dilemmas, ...

They live in plain text files (one value a line, `#` comments) so that writers,
not programmers, curate them; a directory missing one of them, or a file with
no values, is refused up front rather than yielding a lopsided plan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import InputError, RecordError
from toolkit.packaged import data_path

__all__ = [
    "ATTRIBUTE_FILES",
    "DEFAULT_ATTRIBUTES_DIR",
    "LABELLED",
    "Attributes",
    "load_attributes",
    "parse_labelled",
    "words_in_length",
]

DEFAULT_ATTRIBUTES_DIR = data_path("stories", "attributes")  # shipped; never the cwd's

ATTRIBUTE_FILES = (
    "settings",
    "genres",
    "roles",
    "dilemmas",
    "points_of_view",
    "lengths",
    "explainer_genres",
    "audiences",
    "advice_situations",
    "system_prompts",
)

#: Lists whose values are `label: description`.
LABELLED = frozenset({"roles", "dilemmas", "advice_situations", "lengths"})

_WORDS = re.compile(r"(\d[\d,]*)\s*words")


def parse_labelled(value: str) -> tuple[str, str]:
    """Split `label: description` at the first colon; `InputError` when there is none."""
    label, sep, description = value.partition(":")
    if not sep or not label.strip() or not description.strip():
        raise InputError(f"expected 'label: description', got {value!r}")
    return label.strip(), description.strip()


def words_in_length(description: str) -> int:
    """The word count in a length description such as "about 1200 words"."""
    match = _WORDS.search(description)
    if match is None:
        raise InputError(f"length {description!r}: expected a word count such as 'about 600 words'")
    return int(match.group(1).replace(",", ""))


@dataclass(frozen=True, slots=True)
class Attributes:
    """Every attribute list, plus the tool definitions of `tools.json`."""

    directory: Path
    values: Mapping[str, tuple[str, ...]]
    tools: tuple[dict[str, Any], ...]

    def get(self, name: str) -> tuple[str, ...]:
        if name not in self.values:
            raise InputError(
                f"{self.directory}: no attribute list {name!r}; "
                f"expected one of {', '.join(ATTRIBUTE_FILES)}"
            )
        return self.values[name]

    def labelled(self, name: str) -> tuple[tuple[str, str], ...]:
        """The (label, description) pairs of a `label: description` list."""
        return tuple(parse_labelled(value) for value in self.get(name))


def _read_list(path: Path, labelled: bool) -> tuple[str, ...]:
    values: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8") from None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if labelled:
            try:
                parse_labelled(line)
            except InputError as err:
                raise RecordError(str(path), lineno, err.message) from None
        values.append(line)
    if not values:
        raise InputError(f"{path}: no values; expected one value a line ('#' starts a comment)")
    return tuple(values)


def _read_tools(path: Path) -> tuple[dict[str, Any], ...]:
    if not path.is_file():
        raise InputError(f"{path}: no such file; expected a JSON list of tool definitions")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: expected a non-empty JSON list of tool definitions")
    for index, tool in enumerate(data):
        if not (isinstance(tool, dict) and isinstance(tool.get("name"), str)):
            raise InputError(f"{path}: tool {index}: expected an object with a 'name'")
        if not isinstance(tool.get("input_schema"), dict):
            raise InputError(f"{path}: tool {tool['name']!r}: expected an 'input_schema' object")
    return tuple(data)


def load_attributes(
    directory: str | Path | None = None, *, tools: str | Path | None = None
) -> Attributes:
    """Read every list of `directory` (default: the lists shipped in the package).

    `tools` defaults to `tools.json` beside the directory.
    """
    root = Path(directory) if directory is not None else DEFAULT_ATTRIBUTES_DIR
    expected = ", ".join(f"{name}.txt" for name in ATTRIBUTE_FILES)
    if not root.is_dir():
        raise InputError(f"{root}: no such attributes directory; expected one holding {expected}")
    missing = [name for name in ATTRIBUTE_FILES if not (root / f"{name}.txt").is_file()]
    if missing:
        raise InputError(
            f"{root}: missing {', '.join(f'{m}.txt' for m in missing)}; expected {expected}"
        )
    values = {name: _read_list(root / f"{name}.txt", name in LABELLED) for name in ATTRIBUTE_FILES}
    for length in values["lengths"]:
        try:
            words_in_length(parse_labelled(length)[1])
        except InputError as err:
            raise InputError(f"{root / 'lengths.txt'}: {err.message}") from None
    tools_path = Path(tools) if tools is not None else root.parent / "tools.json"
    return Attributes(directory=root, values=values, tools=_read_tools(tools_path))
