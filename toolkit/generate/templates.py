"""Prompt templates: versioned files `NAME.vN.md` in `toolkit/data/templates/`.

A released version is never edited; a change of wording is a new file, so the
version recorded in a plan and in each document's provenance always names the
exact text that produced it. Placeholders are `string.Template` `$names`,
filled with strict substitution: a missing value is an error, never a blank.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from toolkit.errors import ConfigError

__all__ = ["Template", "available_templates", "load_template", "render"]

_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)\.(?P<version>v(?P<number>\d+))\.md$")


@dataclass(frozen=True, slots=True)
class Template:
    """One template file: `name`, `version` ("v1") and its text."""

    name: str
    version: str
    text: str

    @property
    def ref(self) -> str:
        """`name.version`, as recorded in provenance."""
        return f"{self.name}.{self.version}"


def _template_dir() -> resources.abc.Traversable:
    return resources.files("toolkit").joinpath("data", "templates")


def available_templates() -> dict[str, list[str]]:
    """Every template name with its versions, oldest first."""
    found: dict[str, list[tuple[int, str]]] = {}
    for entry in _template_dir().iterdir():
        match = _FILE.match(entry.name)
        if match and entry.is_file():
            found.setdefault(match["name"], []).append((int(match["number"]), match["version"]))
    return {name: [v for _, v in sorted(versions)] for name, versions in sorted(found.items())}


def load_template(name: str, version: str | None = None) -> Template:
    """The template `name` at `version`, or its latest version when `version` is None."""
    available = available_templates()
    if name not in available:
        raise ConfigError(f"no template {name!r}; available: {', '.join(available) or 'none'}")
    versions = available[name]
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise ConfigError(
            f"template {name!r} has no version {chosen!r}; available: {', '.join(versions)}"
        )
    text = _template_dir().joinpath(f"{name}.{chosen}.md").read_text(encoding="utf-8")
    return Template(name=name, version=chosen, text=text)


def render(template: Template, values: Mapping[str, object]) -> str:
    """Fill every `$placeholder` of `template`; a missing one is a `ConfigError`."""
    try:
        return string.Template(template.text).substitute(
            {key: str(value) for key, value in values.items()}
        )
    except KeyError as err:
        raise ConfigError(
            f"template {template.ref}: no value for placeholder ${err.args[0]}; "
            f"given: {', '.join(sorted(values)) or 'none'}"
        ) from None
    except ValueError as err:
        raise ConfigError(f"template {template.ref}: malformed placeholder ({err})") from None
