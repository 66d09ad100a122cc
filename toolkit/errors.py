"""The one exception tree of ccorpus.

Every error a user can cause is a `CorpusError`. Its message is one line that
names the file, line or key at fault and what was expected; the CLI prints it
to stderr and exits with `exit_code` (2 for bad input or usage, 1 for a check
that ran and failed). Anything else escaping is a bug, not a user error.

    CorpusError                 exit 2 unless said
    ├── InputError              a file or argument cannot be used
    │   ├── RecordError         a malformed corpus line: `file:line: problem`
    │   ├── ConfigError         a key missing or out of its allowed set
    │   └── ItemNotFound        no review item has this document id
    ├── BackendError            a generation service cannot serve any request
    ├── StaleWrite              a review write based on a replaced item version
    ├── ReplyError              a model's reply is not the object asked for
    │   ├── JudgementError      ... the contamination judge's verdict
    │   └── VerdictError        ... the quality judge's verdict
    └── CheckFailed             a check ran and its verdict is "no" (exit 1)

Every class is defined here; `toolkit.review` and the two judge modules
re-export the ones they raise. The judges catch their reply errors
themselves and record them per document or hit, so those reach a user only
through the public `parse_judgement` and `parse_verdict`.

Control-flow signals are not errors and are not in this tree: they are
raised and caught inside the library to stop a loop early and never reach a
user. They are `toolkit.generate.backends.StopSending` (a caller stops a
backend from its result callback), `_Until` in `toolkit.pipeline.runner` (a
build stops after the stage asked for) and `_Multi` and `_Unstable` in
`toolkit.contamination.text` (the fast text fold hands over to the careful
one).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendError",
    "CheckFailed",
    "ConfigError",
    "CorpusError",
    "InputError",
    "ItemNotFound",
    "JudgementError",
    "RecordError",
    "ReplyError",
    "StaleWrite",
    "VerdictError",
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


class ItemNotFound(InputError):
    """No review item has this document id."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"review item {doc_id!r}: not in the review database")
        self.doc_id = doc_id


class BackendError(CorpusError):
    """A generation service cannot serve any request: credentials refused, or it
    stayed unreachable through every retry. The message never holds the key."""


class StaleWrite(CorpusError):
    """A review write was based on an item version that another write has since replaced.

    Refusing it (instead of last-writer-wins) is what keeps two curators from
    silently overwriting each other's decision or edit.
    """

    def __init__(self, doc_id: str, based_on: int, current: int) -> None:
        super().__init__(
            f"review item {doc_id!r}: changed by someone else since you opened it "
            f"(you had version {based_on}, it is now version {current}); nothing was saved"
        )
        self.doc_id = doc_id
        self.based_on = based_on
        self.current = current


class ReplyError(CorpusError):
    """A model's reply is not the object its template asks for; the message says
    what is wrong with it (not JSON, which key, what was expected)."""


class JudgementError(ReplyError):
    """A contamination judge's reply that is not the verdict object its template asks for."""


class VerdictError(ReplyError):
    """A quality judge's reply that is not the verdict object the rubric asks for."""


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
