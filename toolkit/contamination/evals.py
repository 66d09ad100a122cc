"""Eval sets: what the corpus must not contain, read from the user's files.

`--eval PATH[:FIELD[,FIELD...]]` or `--eval NAME=PATH[:FIELDS]` names a file or
folder and the text field(s) of each row; several fields are joined with a
newline. Every item keeps its eval name and 0-based index, so a hit can be
traced to the exact row, and the row's own id when it has one (the first of
`ID_FIELDS` holding a string or number), which reports show in place of
`name[index]`. A missing field is an error naming the field, file,
row and the fields there are: a silently empty item would pass any check.

A field may be given a role, `ROLE=FIELD` with ROLE one of stem, choice,
answer (`:stem=question,choice=options,answer=best_answer`): its text becomes
that match unit of the item (`toolkit.contamination.units`; a list under
`choice` is one choice per element), and the item's text is still all the
fields joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.contamination.formats import read_rows
from toolkit.contamination.units import ROLES
from toolkit.errors import InputError

__all__ = [
    "ID_FIELDS",
    "EvalItem",
    "EvalSpec",
    "eval_names",
    "field_role",
    "load_eval",
    "load_evals",
    "parse_eval_spec",
]

_NAME = re.compile(r"^[\w.-]+$")
#: Fields that name an eval row, first found wins: `id`, then common variants.
ID_FIELDS = ("id", "_id", "uid", "task_id", "question_id")


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One eval row's text. `source` says where it came from (file, row); `id` is
    the row's own id ("" when it has none); `parts` are (role, text) of the
    fields given a role (empty when none was)."""

    eval: str
    index: int
    text: str
    source: str = ""
    id: str = ""
    parts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class EvalSpec:
    """A parsed `--eval` value."""

    name: str
    path: Path
    fields: tuple[str, ...] = ()


def parse_eval_spec(value: str) -> EvalSpec:
    """`[NAME=]PATH[:FIELD,...]`; a path that exists as typed is never split."""
    name = ""
    head, sep, rest = value.partition("=")
    if sep and _NAME.match(head) and not Path(value).exists():
        name, value = head, rest
    fields: tuple[str, ...] = ()
    path_part, colon, field_part = value.rpartition(":")
    if colon and path_part and "/" not in field_part and not Path(value).exists():
        fields = tuple(f.strip() for f in field_part.split(","))
        if not all(fields):
            raise InputError(f"--eval {value}: empty field name in {field_part!r}")
        value = path_part
    if not value:
        raise InputError("--eval: expected PATH[:FIELD[,FIELD...]] or NAME=PATH[:FIELDS]")
    path = Path(value)
    return EvalSpec(name or path.stem or path.name, path, fields)


def _lookup(row: dict[str, Any], field: str) -> tuple[bool, Any]:
    if field in row:
        return True, row[field]
    value: Any = row
    for part in field.split("."):  # dotted paths reach into nested objects
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _as_text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "\n".join(str(v) for v in value)
    raise InputError(
        f"{where}: expected text, a number or a list of them, got {type(value).__name__}"
    )


def _row_id(row: dict[str, Any]) -> str:
    for field in ID_FIELDS:
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return ""


def _fields_for(spec: EvalSpec, row: dict[str, Any]) -> tuple[str, ...]:
    if spec.fields:
        return spec.fields
    if "text" in row:
        return ("text",)
    raise InputError(
        f"{spec.path}: name the text field(s) as {spec.path}:FIELD[,FIELD...]; "
        f"available fields: {', '.join(map(str, row)) or '(none)'}"
    )


def field_role(spec: EvalSpec, field: str) -> tuple[str, str]:
    """(role, field name) of a `--eval` field: `ROLE=FIELD`, or ("", field)."""
    role, sep, name = field.partition("=")
    if not sep:
        return "", field
    if role not in ROLES or not name:
        raise InputError(
            f"--eval {spec.path}: field {field!r}: expected FIELD or ROLE=FIELD with ROLE "
            f"one of {', '.join(ROLES)}"
        )
    return role, name


def _role_parts(role: str, value: Any, text: str) -> list[tuple[str, str]]:
    if not role:
        return []
    if role == "choice" and isinstance(value, list):
        return [(role, str(v)) for v in value]
    return [(role, text)]


def load_eval(spec: EvalSpec) -> list[EvalItem]:
    """Every row of one eval set as an item; an empty set is an error."""
    items: list[EvalItem] = []
    fields: tuple[str, ...] = ()
    roles = [field_role(spec, f) for f in spec.fields]
    for index, row in enumerate(read_rows(spec.path)):
        fields = fields or _fields_for(spec, row)
        texts, parts = [], []
        for role, field in roles or [("", f) for f in fields]:
            found, value = _lookup(row, field)
            if not found:
                raise InputError(
                    f"{spec.path}: row {index} has no field {field!r}; "
                    f"available fields: {', '.join(map(str, row)) or '(none)'}"
                )
            text = _as_text(value, f"{spec.path}: row {index} field {field!r}")
            texts.append(text)
            parts.extend(_role_parts(role, value, text))
        source = str(row["file"]) if "file" in row and not spec.fields else f"row {index}"
        items.append(
            EvalItem(spec.name, index, "\n".join(texts), source, _row_id(row), tuple(parts))
        )
    if not items:
        raise InputError(f"{spec.path}: no eval items (empty file or folder)")
    return items


def load_evals(specs: Iterable[str | EvalSpec]) -> list[EvalItem]:
    """Items of several eval sets, in order; names must be distinct."""
    parsed = [parse_eval_spec(s) if isinstance(s, str) else s for s in specs]
    if not parsed:
        raise InputError("no eval set given; pass --eval PATH[:FIELD[,FIELD...]]")
    seen: dict[str, Path] = {}
    for spec in parsed:
        if spec.name in seen:
            raise InputError(
                f"eval name {spec.name!r} is used by {seen[spec.name]} and {spec.path}; "
                "name them apart with NAME=PATH[:FIELDS]"
            )
        seen[spec.name] = spec.path
    items: list[EvalItem] = []
    for spec in parsed:
        items.extend(load_eval(spec))
    return items


def eval_names(items: Sequence[EvalItem]) -> list[str]:
    """Eval names in first-seen order."""
    return list(dict.fromkeys(item.eval for item in items))
