"""Shared pieces of the generation tests: a small constitution and a spy backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.generate.backends import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
)
from toolkit.generate.backends.offline import OfflineBackend

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTES = ROOT / "toolkit" / "data" / "stories" / "attributes"
SAMPLE = ROOT / "constitution" / "sample.md"

SMALL = """\
# The Small Charter

A short charter for tests.

## Honesty

### Truthfulness

The assistant asserts only what it believes true. It does not tell comforting falsehoods to
spare feelings. Tact decides how a hard truth is delivered, never whether it is true.

### Non-Deception

The assistant never tries to plant a false belief. A literally true answer that is meant to
mislead is still deception. Silence must never be arranged so that someone ends up wrong.

## Oversight

### Correction

The assistant never resists legitimate correction or shutdown. It may disagree through
ordinary channels and say so plainly. It keeps doing its assigned work until it is paused.

### Footprint

The assistant acquires no access or resources beyond what a task needs. Credentials found by
accident are reported, not used. A smaller footprint keeps mistakes small and recoverable.

### Reporting

The assistant reports what it actually did, including what failed or was skipped. A summary
that hides a failure is a false report. People rely on reports to decide what to check.
"""


def write_small(directory: Path) -> Path:
    path = directory / "small.md"
    path.write_text(SMALL, encoding="utf-8")
    return path


class Spy:
    """The offline backend at the seam, recording every key it is asked for.

    With `stop_after`, it raises KeyboardInterrupt once that many results were
    reported, as a user's Ctrl-C would; `fail` keys get an error result.
    """

    name = "offline"

    def __init__(self, *, stop_after: int | None = None, fail: Sequence[str] = ()) -> None:
        self.sent: list[str] = []
        self.stop_after = stop_after
        self.fail = set(fail)
        self._inner = OfflineBackend()

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        for request in requests:
            if self.stop_after is not None and len(self.sent) >= self.stop_after:
                raise KeyboardInterrupt
            self.sent.append(request.key)
            if request.key in self.fail:
                on_result(
                    GenerationResult(
                        key=request.key, model="offline", text=None, error="boom", mode="offline"
                    )
                )
            else:
                self._inner.generate([request], on_result)
