"""Reason codes curators attach to decisions, read from an editable text file.

One `code: description` per line; blank lines and `#` comments are ignored.
Codes are short, stable slugs (they are counted in stats and exported with
each document); descriptions are what the page shows.
"""

from __future__ import annotations

import re
from pathlib import Path

from toolkit.errors import ConfigError, InputError
from toolkit.packaged import data_path

__all__ = ["DEFAULT_REASONS", "load_reasons", "parse_reasons"]

DEFAULT_REASONS = data_path("stories", "review_reasons.txt")  # shipped; never the cwd's
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def parse_reasons(text: str, where: str = "<reasons>") -> dict[str, str]:
    """Codes to descriptions, in file order; a bad line raises naming `where:line`."""
    reasons: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        code, sep, description = line.partition(":")
        code, description = code.strip(), description.strip()
        if not sep or not description:
            raise ConfigError(f"{where}:{lineno}: expected 'code: description', got {line!r}")
        if not _CODE.fullmatch(code):
            raise ConfigError(
                f"{where}:{lineno}: code {code!r} must be lowercase letters, digits, - or _"
            )
        if code in reasons:
            raise ConfigError(f"{where}:{lineno}: code {code!r} appears twice")
        reasons[code] = description
    if not reasons:
        raise ConfigError(f"{where}: no reason codes found")
    return reasons


def load_reasons(path: str | Path = DEFAULT_REASONS) -> dict[str, str]:
    """Read a reasons file; a missing one is an `InputError` naming it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{file}: no such reasons file; pass --reasons PATH") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{file}: cannot read reasons ({err})") from None
    return parse_reasons(text, str(file))
