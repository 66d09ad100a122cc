"""How a constitution is cut into principles: granularity, overrides, and where they come from.

The settings live with the constitution, so every command that loads it (show,
plan, run, review, build) cuts it the same way: in the front matter under
`principles:`, or in a sidecar `NAME.principles.toml` beside `NAME.md` with a
`[principles]` table. A key may be set in one place, not both. A command's
`--granularity` overrides the file's.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

__all__ = [
    "GRANULARITIES",
    "PrincipleOptions",
    "match_depth",
    "options_from",
    "sidecar_path",
]

#: `section`: a section is one principle; `item`: every list of two or more items
#: is cut into one principle per item; `auto`: only lists of rules are cut.
GRANULARITIES = ("auto", "section", "item")
_KEYS = ("granularity", "include", "exclude", "lists", "intro_min_words")


@dataclass(frozen=True, slots=True)
class PrincipleOptions:
    """Settings of the cut. Patterns are ids or shell globs over ids (`notes/*`).

    `exclude` marks matching sections or principles as context (kept, not
    generated from); `include` makes matching ones normative whatever the
    heuristic says, and wins over `exclude`; `lists` names sections whose lists
    are cut into one principle per item at any granularity but `section`.
    A parent's own text of at least `intro_min_words` words is a principle
    (`ID/_intro`); shorter, it is context shared by the principles below it.
    """

    granularity: str = "auto"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    intro_min_words: int = 40
    sources: tuple[str, ...] = field(default=(), compare=False)

    def with_granularity(self, granularity: str | None) -> PrincipleOptions:
        if granularity is None:
            return self
        _check_granularity(granularity, "--granularity")
        return replace(self, granularity=granularity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "granularity": self.granularity,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "lists": list(self.lists),
            "intro_min_words": self.intro_min_words,
        }


def match_depth(patterns: tuple[str, ...], node_id: str) -> int:
    """How deep the most specific match is: 0 matches the top section of `node_id`'s
    path, its own id matches deepest; -1 when no pattern matches it or an ancestor.

    So `include = ["guide"]` with `exclude = ["guide/notes"]` excludes the notes.
    """
    parts = node_id.split("/") if node_id else []
    best = -1
    for depth in range(len(parts)):
        candidate = "/".join(parts[: depth + 1])
        if any(fnmatchcase(candidate, pattern) for pattern in patterns):
            best = depth
    return best


def sidecar_path(constitution_path: str | Path) -> Path:
    path = Path(constitution_path)
    return path.with_name(f"{path.stem}.principles.toml")


def _check_granularity(value: object, where: str) -> str:
    if value not in GRANULARITIES:
        raise InputError(f"{where}: expected one of {', '.join(GRANULARITIES)}, got {value!r}")
    return str(value)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: expected a list of section ids or globs")
    return tuple(v.strip().strip("/") for v in value)


def _table(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a table of {', '.join(_KEYS)}")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InputError(f"{where}.{unknown[0]}: unknown key; expected one of {', '.join(_KEYS)}")
    return dict(data)


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot be read ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - {"principles"})
    if unknown:
        raise InputError(f"{path}: unknown table [{unknown[0]}]; expected [principles]")
    return _table(data.get("principles", {}), f"{path}: [principles]")


def options_from(front_matter: dict[str, Any], path: str) -> PrincipleOptions:
    """Options from the front matter's `principles:` and the sidecar file, if any."""
    settings: dict[str, tuple[Any, str]] = {}
    sources: list[str] = []
    if "principles" in front_matter:
        where = f"{path}: front matter principles"
        for key, value in _table(front_matter["principles"], where).items():
            settings[key] = (value, f"{where}.{key}")
        sources.append(f"{path} (front matter)")
    sidecar = sidecar_path(path)
    if path != "<string>" and sidecar.is_file():
        for key, value in _read_sidecar(sidecar).items():
            if key in settings:
                raise InputError(
                    f"{sidecar}: [principles] {key} is also set in the front matter of {path}; "
                    "set it in one place"
                )
            settings[key] = (value, f"{sidecar}: [principles] {key}")
        sources.append(str(sidecar))
    options = PrincipleOptions(sources=tuple(sources))
    for key, (value, where) in settings.items():
        if key == "granularity":
            options = replace(options, granularity=_check_granularity(value, where))
        elif key == "intro_min_words":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{where}: expected a whole number of words, 0 or more")
            options = replace(options, intro_min_words=value)
        elif key == "include":
            options = replace(options, include=_strings(value, where))
        elif key == "exclude":
            options = replace(options, exclude=_strings(value, where))
        else:
            options = replace(options, lists=_strings(value, where))
    return options
