"""YAML front matter to a dict, with errors that name the file and line."""

from __future__ import annotations

from typing import Any

import yaml

from toolkit.errors import InputError

__all__ = ["parse_front_matter"]


def parse_front_matter(content: str, path: str, first_line: int) -> dict[str, Any]:
    """Parse the text between the `---` markers; `first_line` is its first source line.

    Raises `InputError` naming the file and line when it is not a mapping.
    """
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = first_line + (mark.line if mark is not None else 0)
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise InputError(
            f"{path}:{line}: front matter is not valid YAML ({problem}); "
            "expected `key: value` lines"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{path}:{first_line}: front matter is a {type(data).__name__}; "
            "expected a mapping of `key: value` lines"
        )
    return {str(key): value for key, value in data.items()}
