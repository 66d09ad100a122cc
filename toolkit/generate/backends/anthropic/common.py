"""What the live and batch Anthropic paths share: the request body, reading a
Message back, classifying failures and retrying them.

The SDK's own retries are switched off (`max_retries=0`) so that every wait
goes through one injectable `sleep` and one seeded `random.Random`: runs are
reproducible and tests never really sleep. Error text kept in a result comes
from the API's error body (type and message), never from request headers,
and any occurrence of the credential is masked before it is stored or raised.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import anthropic
import httpx2
from anthropic.types import Message, TextBlock, TextBlockParam
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

from toolkit.errors import BackendError
from toolkit.generate.backends.base import Failure, GenerationRequest, GenerationResult, Usage

__all__ = [
    "DEFAULT_TEMPERATURE",
    "SERVICE",
    "Retrier",
    "classify",
    "connect_cause",
    "describe",
    "error_result",
    "extra_body",
    "failure",
    "mask",
    "message_params",
    "public_url",
    "result_from_message",
]

#: Who answers, as failures name it.
SERVICE = "the Anthropic API"
_UNREACHABLE_HINT = "check the network or ANTHROPIC_BASE_URL"
_TIMEOUT_HINT = "raise --timeout if calls need longer"
# Words of the OS's connect errors (httpx2.ConnectError's text), and what they mean.
_CONNECT_CAUSES = (
    ("refused", "connection refused"),
    ("name or service not known", "DNS lookup failed"),
    ("name resolution", "DNS lookup failed"),
    ("nodename nor servname", "DNS lookup failed"),
    ("no address associated", "DNS lookup failed"),
    ("getaddrinfo", "DNS lookup failed"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "no route to host"),
)

T = TypeVar("T")
Kind = Literal["retry", "fatal", "request"]

#: The API's default; it is sent only when a request asks for something else,
#: because newer models refuse any explicit sampling parameter.
DEFAULT_TEMPERATURE = 1.0
_RETRY_STATUSES = frozenset({408, 409, 429})
_FATAL_STATUSES = frozenset({401, 402, 403})  # bad key, no credit, no permission
_MAX_WAIT_S = 3600.0


def message_params(request: GenerationRequest) -> MessageCreateParamsNonStreaming:
    """The Messages API body for `request`: cached system blocks first, then the prompt."""
    params: MessageCreateParamsNonStreaming = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": "user", "content": request.prompt}],
    }
    if request.system:
        blocks: list[TextBlockParam] = []
        for block in request.system:
            item: TextBlockParam = {"type": "text", "text": block.text}
            if block.cache:
                item["cache_control"] = {"type": "ephemeral"}
            blocks.append(item)
        params["system"] = blocks
    return params


def extra_body(request: GenerationRequest) -> dict[str, object]:
    """Fields the SDK (2.x) no longer takes as arguments but the API still accepts."""
    if request.temperature != DEFAULT_TEMPERATURE:
        return {"temperature": request.temperature}
    return {}


def result_from_message(
    request: GenerationRequest, message: Message, mode: str
) -> GenerationResult:
    """A result holding the text blocks of `message` joined, its usage and stop reason."""
    text = "".join(block.text for block in message.content if isinstance(block, TextBlock))
    usage = message.usage
    return GenerationResult(
        key=request.key,
        model=request.model,
        text=text,
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        ),
        stop_reason=message.stop_reason,
        mode=mode,
    )


def error_result(
    request: GenerationRequest,
    error: str,
    mode: str,
    *,
    answered: bool = True,
    failure: Failure | None = None,
) -> GenerationResult:
    return GenerationResult(
        key=request.key,
        model=request.model,
        text=None,
        error=error,
        mode=mode,
        answered=answered,
        failure=failure,
    )


def public_url(url: httpx2.URL) -> str:
    """`url` without any user name or password, to name the service in a message."""
    return str(url.copy_with(username=None, password=None)).rstrip("/")


def connect_cause(exc: BaseException) -> str | None:
    """Why an attempt never connected ("connection refused", "DNS lookup failed"),
    or None when it connected (or failed otherwise)."""
    cause = exc.__cause__ if isinstance(exc, anthropic.APIError) else exc
    if isinstance(cause, httpx2.ConnectTimeout):
        return "no connection within the time limit"
    if not isinstance(cause, httpx2.ConnectError):
        return None
    text = str(cause).lower()
    for words, meaning in _CONNECT_CAUSES:
        if words in text:
            return meaning
    return f"could not connect ({cause or type(cause).__name__})"


def failure(exc: BaseException, *, reached: bool, where: str, cause: str | None = None) -> Failure:
    """How a request that ended with `exc` failed; `reached`: whether any of its
    attempts got through to the API. `cause` overrides the words of a timeout."""
    connected = connect_cause(exc)
    if connected is not None and not reached:
        return Failure(
            cause or connected,
            unreachable=True,
            service=SERVICE,
            where=where,
            hint=_UNREACHABLE_HINT,
        )
    if isinstance(exc, anthropic.APIStatusError):
        label = f"HTTP {exc.status_code} {exc.type or 'error'}"
    else:
        label = cause or connected or describe(exc)
    hint = _TIMEOUT_HINT if isinstance(exc, anthropic.APITimeoutError) else ""
    return Failure(label, service=SERVICE, where=where, hint=hint)


def classify(exc: BaseException) -> Kind:
    """`fatal`: no request can succeed (key, billing); `retry`: transient; `request`: this one."""
    if isinstance(exc, anthropic.APIStatusError):
        if exc.status_code in _FATAL_STATUSES:
            return "fatal"
        if exc.status_code in _RETRY_STATUSES or exc.status_code >= 500:
            return "retry"
        return "request"
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        return "retry"
    return "request"


def describe(exc: BaseException) -> str:
    """One line from the API's error body: status, error type, message, request id."""
    if isinstance(exc, anthropic.APIStatusError):
        text = f"HTTP {exc.status_code} {exc.type or 'error'}: {exc.api_message or 'no message'}"
        return f"{text} (request-id {exc.request_id})" if exc.request_id else text
    if isinstance(exc, anthropic.APITimeoutError):
        return "the request timed out"
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        return connect_cause(exc) or f"connection failed ({type(exc.__cause__ or exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every credential replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _header_wait(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, then `retry-after`)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, httpx2.Response):
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: fall back to our own backoff
        if seconds >= 0:
            return min(seconds, _MAX_WAIT_S)
    return None


class Retrier:
    """Calls a function until it succeeds, retrying transient API failures.

    Waits honour the server's `retry-after(-ms)`; otherwise exponential backoff
    (`base_delay` doubling up to `max_delay`) scaled by a jitter in [0.5, 1).
    After `max_attempts`, or as soon as `stopping()` is true (a run stopping
    early), the last error is re-raised for the caller to report.
    A 401/402/403 becomes `BackendError` at once: no request can work with that key.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        sleep: Callable[[float], Any],
        rng: random.Random,
        secrets: Iterable[str | None] = (),
        base_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.rng = rng
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._secrets = tuple(secrets)

    def delay(self, exc: BaseException, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        asked = _header_wait(exc)
        if asked is not None:
            return asked
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * (0.5 + self.rng.random() / 2)

    def fatal(self, exc: BaseException) -> BackendError:
        return BackendError(
            f"the Anthropic API refuses this account ({self.describe(exc)}); "
            "check ANTHROPIC_API_KEY and its billing, or use --backend offline"
        )

    def describe(self, exc: BaseException) -> str:
        return mask(describe(exc), self._secrets)

    def run(self, call: Callable[[], T], *, stopping: Callable[[], bool] | None = None) -> T:
        """`call()`, retried on transient failures; raises the last one when out of
        attempts, or when `stopping()` says the run is stopping."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call()
            except (anthropic.APIError, httpx2.TransportError) as exc:
                kind = classify(exc)
                if kind == "fatal":
                    raise self.fatal(exc) from None
                if kind == "request" or attempt == self.max_attempts:
                    raise
                if stopping is not None and stopping():
                    raise
                self.sleep(self.delay(exc, attempt))
                if stopping is not None and stopping():
                    raise
        raise AssertionError("unreachable: the loop returns or raises")
