"""Strict, typed reading of TOML tables, shared by every config file of ccorpus.

A silent default in a config costs a training run, so every problem is one
`ConfigError` naming the file, the dotted key and what was expected, and
unknown keys are refused with the list of valid ones.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any, NoReturn

from toolkit.errors import ConfigError, InputError

__all__ = ["TableReader", "read_toml", "resolve_path"]


def resolve_path(file: Path, path: str) -> Path:
    """A path as written in `file`: relative ones are relative to the file's folder.

    `a/../b` is folded to `b`, so messages and reports show the path a user would type.
    """
    candidate = Path(path).expanduser()
    return Path(os.path.normpath(candidate if candidate.is_absolute() else file.parent / candidate))


def read_toml(path: str | Path) -> dict[str, Any]:
    """Decode a TOML file; a missing, unreadable or invalid file is one clear error."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except OSError as err:
        raise InputError(f"{file}: cannot read ({err.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{file}: not valid TOML ({err})") from None


class TableReader:
    """Typed access to one TOML table, every error naming file and dotted key."""

    def __init__(self, file: Path, table: dict[str, Any], prefix: str, valid: dict[str, str]):
        self.file, self.table, self.prefix, self.valid = file, table, prefix, valid
        unknown = sorted(set(table) - set(valid))
        if unknown:
            self.fail(unknown[0], f"unknown key; valid keys are {', '.join(sorted(valid))}")

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.file}: {self.prefix}{key}: {problem}")

    def expect(self, key: str, got: Any) -> NoReturn:
        shown = repr(got)
        shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
        self.fail(key, f"expected {self.valid[key]}, got {shown}")

    def table_at(self, key: str) -> dict[str, Any]:
        """A sub-table (empty when absent)."""
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            self.expect(key, value)
        return value

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.expect(key, value)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.expect(key, value)
        return value

    def integer(self, key: str, default: int | None, minimum: int | None = None) -> int | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.expect(key, value)
        if minimum is not None and value < minimum:
            self.expect(key, value)
        return int(value)

    def number(self, key: str, default: float, low: float, high: float, closed: bool) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.expect(key, value)
        number = float(value)
        above_high = number > high if closed else number >= high
        if not math.isfinite(number) or number < low or above_high:
            self.expect(key, value)
        return number

    def strings(
        self, key: str, allowed: tuple[str, ...] | None = None, default: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        value = self.table.get(key, list(default))
        ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        if not ok or (allowed is not None and not set(value) <= set(allowed)):
            self.expect(key, value)
        return tuple(value)
