"""The one exception tree of ccorpus.

Every error a user can cause is a `CorpusError`. Its message is one line that
names the file, line or key at fault and what was expected; the CLI prints it
to stderr and exits with `exit_code` (2 for bad input or usage, 1 for a check
that ran and failed). Anything else escaping is a bug, not a user error.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendError",
    "CheckFailed",
    "ConfigError",
    "CorpusError",
    "InputError",
    "RecordError",
]


class CorpusError(Exception):
    """Base of every error ccorpus raises on purpose."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(CorpusError):
    """A file or argument cannot be used: missing, unreadable, of the wrong form."""


class RecordError(InputError):
    """A corpus line is malformed; the message starts with `file:line:`."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class ConfigError(InputError):
    """A configuration key is missing or holds a value out of its allowed set."""


class BackendError(CorpusError):
    """A generation service cannot serve any request: credentials refused, or it
    stayed unreachable through every retry. The message never holds the key."""


class CheckFailed(CorpusError):
    """A check ran to completion and its verdict is 'no' (exit code 1).

    `figures`, when set, are what the run found before it stopped (the
    build's stages and gate): the CLI prints them, or their `--json`, before
    the error line.
    """

    exit_code = 1

    def __init__(self, message: str, figures: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.figures = figures
