"""The seam every generation backend implements.

A backend receives fully rendered requests and reports each result through a
callback as soon as it has it, so the runner can journal it before anything
else can go wrong. A backend that bills also says when it sends a request
(`on_sent`), so the cost ledger can count what was sent and never answered,
say at a kill: it may still be billed. A backend never raises for one failed
request: it reports a result with `error` set. It raises `CorpusError` only when it cannot work at
all (no key, unknown model, unreachable service after all retries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from toolkit.errors import ConfigError

__all__ = [
    "MAX_CONCURRENCY",
    "Backend",
    "GenerationRequest",
    "GenerationResult",
    "ResultCallback",
    "SentCallback",
    "SystemBlock",
    "Usage",
    "check_concurrency",
    "check_timeout",
]


@dataclass(frozen=True, slots=True)
class SystemBlock:
    """One block of the system prompt; `cache` marks a prompt-cache breakpoint."""

    text: str
    cache: bool = False


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One message to generate. `key` is unique and stable across reruns.

    `context` carries the plan item's structured data (kind, attributes,
    principles). Model backends ignore it; the offline backend composes its
    text from it. It is never sent to an API.
    """

    key: str
    model: str
    prompt: str
    system: tuple[SystemBlock, ...] = ()
    max_tokens: int = 2048
    temperature: float = 1.0
    context: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage as the Messages API reports it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The outcome of one request: `text` on success, `error` otherwise.

    `mode` is "live", "batch" or "offline" (batch usage is billed at a discount).
    `answered` is False when the last attempt got no response though it may
    have reached the model (a read timeout, a dropped connection): the result
    then answers none of the request's sends, which the API may still bill.
    """

    key: str
    model: str
    text: str | None
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    error: str | None = None
    mode: str = "live"
    answered: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


#: The most requests a backend keeps in flight at once. Rate limits hold even
#: the top API tiers to a few hundred generations in flight; past that, more
#: threads only collect 429s, and the SDK's pool holds 1000 connections.
MAX_CONCURRENCY = 256


def check_concurrency(concurrency: int) -> None:
    """Refuse a concurrency outside 1..`MAX_CONCURRENCY`, rather than clamp it unseen."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ConfigError(
            f"concurrency must be from 1 to {MAX_CONCURRENCY} requests in flight, got {concurrency}"
        )


def check_timeout(timeout: float | None) -> None:
    """Refuse a time limit that is not a positive number of seconds (None: the default)."""
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"timeout must be a positive number of seconds, got {timeout}")


ResultCallback = Callable[[GenerationResult], None]
#: Called with a request and its mode ("live" or "batch") each time the request
#: goes out in a way that may be billed: its first send, and a resend after an
#: attempt that may have reached the model (a timeout, a dropped connection).
#: What it returns is ignored (a ledger's `record_sent` returns the ceiling).
SentCallback = Callable[[GenerationRequest, str], object]


class Backend(Protocol):
    """Answers requests; `name` is recorded in every document's provenance."""

    name: str

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        """Answer every request, calling `on_result` once per request as it completes
        (and `on_sent` as it sends one, where sending costs money)."""
        ...
