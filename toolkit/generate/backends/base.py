"""The seam every generation backend implements.

A backend receives fully rendered requests and reports each result through a
callback as soon as it has it, so the runner can journal it before anything
else can go wrong. A backend that bills also says when it sends a request
(`on_sent`), so the cost ledger can count what was sent and never answered,
say at a kill: it may still be billed. A backend never raises for one failed
request: it reports a result with `error` set, and where it can, a `Failure`
saying how, in terms the same for every request struck the same way (so a
caller can tell "the service is unreachable" from one bad request). It raises
`CorpusError` only when it cannot work at all (no key, unknown model).

The caller may stop a run from `on_result` by raising `StopSending` (see
`toolkit.generate.early_stop`): the backend then sends nothing new, reports
the requests already in flight without retrying them further, and lets the
exception propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from toolkit.errors import ConfigError

__all__ = [
    "MAX_CONCURRENCY",
    "Backend",
    "Failure",
    "GenerationRequest",
    "GenerationResult",
    "ResultCallback",
    "SentCallback",
    "StopSending",
    "SystemBlock",
    "Usage",
    "check_concurrency",
    "check_timeout",
    "reads_prompts",
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
class Failure:
    """How a request failed, in words that do not depend on the request.

    `cause` is the same for every request that failed the same way
    ("connection refused", "HTTP 529 overloaded_error", "no answer within
    88 s"). `unreachable` marks a request none of whose attempts reached the
    service (connection refused, DNS lookup failed, no connection in time).
    `service` names who failed and `where` its address; `hint` is what a user
    can do about it ("" when nothing general applies).
    """

    cause: str
    unreachable: bool = False
    service: str = "the backend"
    where: str = ""
    hint: str = ""


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The outcome of one request: `text` on success, `error` otherwise.

    `mode` is "live", "batch" or "offline" (batch usage is billed at a discount).
    `answered` is False when the last attempt got no response though it may
    have reached the model (a read timeout, a dropped connection): the result
    then answers none of the request's sends, which the API may still bill.
    `failure` says how a failed request failed, where the backend knows
    (`failure_of` falls back to the error text).
    """

    key: str
    model: str
    text: str | None
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    error: str | None = None
    mode: str = "live"
    answered: bool = True
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None

    def failure_of(self) -> Failure | None:
        """How this result failed (None if it did not): its `failure`, else its error text."""
        if self.ok:
            return None
        return self.failure or Failure(self.error or "the backend returned no text")


class StopSending(Exception):
    """Raised by an `on_result` callback to stop a run: see the module docstring."""


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


def reads_prompts(backend: object) -> bool:
    """Whether `backend` answers a request's prompt (a model does; the offline
    backend, which composes documents from plan items, sets `reads_prompts = False`)."""
    return bool(getattr(backend, "reads_prompts", True))


class Backend(Protocol):
    """Answers requests; `name` is recorded in every document's provenance.

    A backend that never reads prompts (and so cannot judge) says so with a
    class attribute `reads_prompts = False` (see `reads_prompts`).
    """

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
