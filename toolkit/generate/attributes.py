"""Attribute lists that planners draw from: settings, genres, roles, dilemmas, ...

They live in plain text files (one value a line, `#` comments) so that writers,
not programmers, curate them; a directory missing one of them, or a file with
no values, is refused up front rather than yielding a lopsided plan. A list
may be grouped under `[section]` headings: the domain of a role or setting,
the family of a dilemma (`[honesty with a user]`, or `[oversight and safety |
eval-adjacent]` for evaluation premises), the structure of an explainer form.
`compatibility.txt` (optional) says which setting domains each role domain
may be placed in; `eval_premises.txt` beside the folder (default: the shipped
one) lists the premises of evaluations that plans keep away from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import InputError, RecordError
from toolkit.packaged import data_path

__all__ = [
    "ATTRIBUTE_FILES",
    "DEFAULT_ATTRIBUTES_DIR",
    "DEFAULT_PREMISES",
    "EVAL_ADJACENT",
    "LABELLED",
    "Attributes",
    "Dilemma",
    "load_attributes",
    "parse_labelled",
    "words_in_length",
]

DEFAULT_ATTRIBUTES_DIR = data_path("stories", "attributes")  # shipped; never the cwd's
DEFAULT_PREMISES = data_path("stories", "eval_premises.txt")

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
#: The tag of a dilemma heading whose dilemmas are premises of evaluations.
EVAL_ADJACENT = "eval-adjacent"
COMPATIBILITY = "compatibility.txt"
PREMISES = "eval_premises.txt"

_WORDS = re.compile(r"(\d[\d,]*)\s*words")
_HEADING = re.compile(r"^\[(?P<name>[^\]|]+?)\s*(?:\|\s*(?P<tag>[^\]]+?)\s*)?\]$")


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
class Dilemma:
    """One dilemma with its family; `eval_adjacent` marks an evaluation's premise."""

    label: str
    description: str
    family: str
    eval_adjacent: bool


@dataclass(frozen=True, slots=True)
class Attributes:
    """Every attribute list, the tool definitions of `tools.json`, and what groups them.

    `sections[name]` runs parallel to `values[name]`: each value's `[section]`
    heading ("" before any). `compatibility` maps a role domain to the setting
    domains it may be placed in (a domain missing from it goes anywhere).
    `premises` is the eval premises file (`toolkit.generate.screening`).
    """

    directory: Path
    values: Mapping[str, tuple[str, ...]]
    tools: tuple[dict[str, Any], ...]
    sections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    compatibility: Mapping[str, frozenset[str]] = field(default_factory=dict)
    premises: Path = DEFAULT_PREMISES

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

    def section_of(self, name: str) -> tuple[str, ...]:
        """Each value's section heading, in the order of `get(name)`."""
        return self.sections.get(name) or ("",) * len(self.get(name))

    def dilemmas(self) -> tuple[Dilemma, ...]:
        """The dilemmas with their families ("general" before any heading)."""
        found = []
        for (label, text), heading in zip(
            self.labelled("dilemmas"), self.section_of("dilemmas"), strict=True
        ):
            family, _, tag = heading.partition("|")
            found.append(Dilemma(label, text, family.strip() or "general", tag.strip() != ""))
        return tuple(found)

    def allows(self, role_domain: str, setting_domain: str) -> bool:
        """Whether a role of `role_domain` may be placed in a setting of `setting_domain`."""
        allowed = self.compatibility.get(role_domain)
        return allowed is None or setting_domain in allowed

    def structure_of(self, genre: str) -> str:
        """An explainer form's structure (its section in explainer_genres.txt), or "prose"."""
        for value, heading in zip(
            self.get("explainer_genres"), self.section_of("explainer_genres"), strict=True
        ):
            if value == genre:
                return heading or "prose"
        return "prose"


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8") from None
    return [
        (lineno, raw.strip())
        for lineno, raw in enumerate(lines, start=1)
        if raw.strip() and not raw.strip().startswith("#")
    ]


def _read_list(path: Path, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Values and the `[section]` heading of each; headings other than dilemmas' take no tag."""
    values: list[str] = []
    headings: list[str] = []
    heading = ""
    for lineno, line in _lines(path):
        match = _HEADING.match(line)
        if match:
            tag = match["tag"]
            if tag is not None and (name != "dilemmas" or tag != EVAL_ADJACENT):
                expected = f"'| {EVAL_ADJACENT}'" if name == "dilemmas" else "no tag"
                raise RecordError(str(path), lineno, f"heading tag {tag!r}: expected {expected}")
            heading = match["name"].strip() + (f" | {tag}" if tag else "")
            continue
        if name in LABELLED:
            try:
                parse_labelled(line)
            except InputError as err:
                raise RecordError(str(path), lineno, err.message) from None
        values.append(line)
        headings.append(heading)
    if not values:
        raise InputError(f"{path}: no values; expected one value a line ('#' starts a comment)")
    return tuple(values), tuple(headings)


def _read_compatibility(
    path: Path, roles: set[str], settings: set[str]
) -> dict[str, frozenset[str]]:
    """`role-domain: setting-domain, ...` lines; each name must be a heading of its list."""
    table: dict[str, frozenset[str]] = {}
    if not path.is_file():
        return table
    for lineno, line in _lines(path):
        role, sep, rest = line.partition(":")
        role = role.strip()
        wanted = [s.strip() for s in rest.split(",") if s.strip()]
        if not sep or not role or not wanted:
            raise RecordError(
                str(path), lineno, "expected 'role-domain: setting-domain, setting-domain'"
            )
        if role not in roles:
            known = ", ".join(sorted(roles)) or "none"
            raise RecordError(
                str(path), lineno, f"no role domain {role!r} in roles.txt; known: {known}"
            )
        unknown = [s for s in wanted if s not in settings]
        if unknown:
            known = ", ".join(sorted(settings)) or "none"
            raise RecordError(
                str(path),
                lineno,
                f"no setting domain {unknown[0]!r} in settings.txt; known: {known}",
            )
        table[role] = frozenset(wanted)
    return table


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

    `tools` defaults to `tools.json` beside the directory, and the eval
    premises to `eval_premises.txt` beside it, else the shipped list.
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
    read = {name: _read_list(root / f"{name}.txt", name) for name in ATTRIBUTE_FILES}
    values = {name: found[0] for name, found in read.items()}
    sections = {name: found[1] for name, found in read.items()}
    for length in values["lengths"]:
        try:
            words_in_length(parse_labelled(length)[1])
        except InputError as err:
            raise InputError(f"{root / 'lengths.txt'}: {err.message}") from None
    compatibility = _read_compatibility(
        root / COMPATIBILITY, set(sections["roles"]), set(sections["settings"])
    )
    premises = root.parent / PREMISES
    tools_path = Path(tools) if tools is not None else root.parent / "tools.json"
    return Attributes(
        directory=root,
        values=values,
        tools=_read_tools(tools_path),
        sections=sections,
        compatibility=compatibility,
        premises=premises if premises.is_file() else DEFAULT_PREMISES,
    )
