"""Live Messages API calls: a bounded thread pool, one retried call per request.

Each worker reports its own result under a lock, so `on_result` runs in one
thread at a time and a result is journaled as soon as it exists. A failure of
one request becomes that request's error result; a failure no request can
survive (refused credentials, or `on_result` itself raising, as it does with
`StopSending` when a run stops early) stops new calls, lets the calls already
in flight report without retrying them further, then propagates. Each error
result carries its `Failure`: whether any attempt reached the API, and the
cause in words shared by every request that failed the same way.

Every call has a time limit, connect and read (a server that accepts and
never answers would otherwise hold a worker for the SDK's ten minutes per
attempt). A non-streaming call sends no byte until the whole message is
written, so by default the read limit grows with `max_tokens` (see
`default_timeout`). While no call finishes for `stall_after` seconds, a
warning with the number in flight goes to stderr.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

import anthropic
import httpx2
from anthropic.types import Message

from toolkit.errors import ConfigError
from toolkit.generate.backends.anthropic.common import (
    Retrier,
    classify,
    connect_cause,
    error_result,
    extra_body,
    failure,
    message_params,
    public_url,
    result_from_message,
)
from toolkit.generate.backends.base import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    check_concurrency,
    check_timeout,
)
from toolkit.progress import stderr_console

__all__ = [
    "CONNECT_TIMEOUT",
    "STALL_AFTER",
    "LiveRunner",
    "default_timeout",
]

#: Seconds to open a connection: a TCP and TLS handshake takes well under one.
CONNECT_TIMEOUT = 10.0
#: Seconds a message may take before its first token (queueing, a long prompt).
FIRST_TOKEN_S = 30.0
#: Seconds per output token the SDK itself allows a non-streaming call (an hour
#: per 128,000 tokens, about 36 tokens a second; models write faster than that).
SECONDS_PER_TOKEN = 3600 / 128_000
#: The SDK refuses non-streaming calls it expects to run past ten minutes.
_NON_STREAMING_LIMIT_S = 600.0
#: Seconds without any finished call before a stall warning.
STALL_AFTER = 120.0
# A failure to connect or to send the body never reached the model, so its
# retry is not a second billable send.
_NOT_SENT = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.WriteError,
    httpx2.WriteTimeout,
    httpx2.PoolTimeout,
)


def default_timeout(max_tokens: int) -> float:
    """The read limit of a call when none is set: 30 s plus the SDK's time for `max_tokens`.

    About 88 s at 2048 tokens and 157 s at 4512 (a long story): a model writing
    2048 tokens at 40 tokens a second needs 51 s, so any fixed limit under a
    minute would abandon normal calls, and pay for them again on each retry.
    """
    return FIRST_TOKEN_S + max_tokens * SECONDS_PER_TOKEN


def _timed_out(exc: anthropic.APITimeoutError, timeout: httpx2.Timeout) -> str:
    """Which limit ran out, in seconds, so the user knows what to raise."""
    if isinstance(exc.__cause__, httpx2.ConnectTimeout):
        return f"could not connect within {timeout.connect:g} s"
    return f"no answer within {timeout.read:g} s"


def _warn(text: str) -> None:
    stderr_console.print(f"warning: {text}", markup=False, highlight=False)


class _Activity:
    """How many calls are in flight and when one last finished, across workers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last = time.monotonic()

    def start(self) -> None:
        with self.lock:
            self.in_flight += 1

    def finish(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.last = time.monotonic()


class LiveRunner:
    """Answers requests with `client.messages.create`, at most `concurrency` at once.

    `timeout` (seconds) bounds connect and read of every call; None lets the
    read limit follow each request's `max_tokens`. `warn` receives the stall
    warning (default: stderr).
    """

    def __init__(
        self,
        client: anthropic.Anthropic,
        retrier: Retrier,
        *,
        concurrency: int,
        timeout: float | None = None,
        stall_after: float = STALL_AFTER,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        check_concurrency(concurrency)
        check_timeout(timeout)
        self._client = client
        self._retrier = retrier
        self._concurrency = concurrency
        self._timeout = timeout
        self._stall_after = stall_after
        self._warn = warn or _warn  # stderr, through the console the progress bar uses

    def timeout_for(self, request: GenerationRequest) -> httpx2.Timeout:
        """The connect and read limits of a call for `request`."""
        if self._timeout is not None:
            return httpx2.Timeout(self._timeout)
        return httpx2.Timeout(default_timeout(request.max_tokens), connect=CONNECT_TIMEOUT)

    def run(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        for request in requests:  # the SDK's own check, which a set timeout switches off
            if request.max_tokens * SECONDS_PER_TOKEN > _NON_STREAMING_LIMIT_S:
                raise ConfigError(
                    f"request {request.key!r}: max_tokens {request.max_tokens} may take longer "
                    "than the 10 minutes a non-streaming call is allowed "
                    "(lower max_tokens, or use batch mode)"
                )
        report_lock = threading.Lock()
        stop = threading.Event()
        activity = _Activity()

        def work(request: GenerationRequest) -> None:
            if stop.is_set():
                return
            activity.start()
            try:
                result = self._answer(request, on_sent, stop.is_set)
            except BaseException:
                stop.set()
                raise
            finally:
                activity.finish()
            with report_lock:
                try:
                    on_result(result)
                except BaseException:
                    stop.set()
                    raise

        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="anthropic") as pool:
            futures: list[Future[None]] = [pool.submit(work, r) for r in requests]
            try:
                self._wait(futures, activity)
            except BaseException:  # a failed call, or e.g. KeyboardInterrupt while waiting
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _wait(self, futures: list[Future[None]], activity: _Activity) -> None:
        """Wait for every call, raising the first failure; warn while none finishes."""
        waiting = set(futures)
        warned = activity.last
        while waiting:
            with activity.lock:
                in_flight, last = activity.in_flight, activity.last
            now = time.monotonic()
            left = self._stall_after - (now - max(last, warned))
            if left <= 0:
                if in_flight:
                    quiet_s = now - last
                    shown = f"{quiet_s:.0f}" if quiet_s >= 10 else f"{quiet_s:.1f}"
                    self._warn(
                        f"no request has finished for {shown} s; {in_flight} in flight "
                        "(each is abandoned at its timeout, then retried)"
                    )
                warned, left = now, self._stall_after
            done, waiting = wait(waiting, timeout=left, return_when=FIRST_EXCEPTION)
            for future in done:
                if (exc := future.exception()) is not None:
                    raise exc

    def _answer(
        self,
        request: GenerationRequest,
        on_sent: SentCallback | None,
        stopping: Callable[[], bool],
    ) -> GenerationResult:
        params = message_params(request)
        extra = extra_body(request) or None
        timeout = self.timeout_for(request)
        billable = [True]  # whether the next attempt is a send that may be billed
        attempts = [0]
        reached = [False]  # whether any attempt got through to the API

        def call() -> Message:
            if billable[0] and on_sent is not None:
                on_sent(request, "live")
            billable[0] = False
            attempts[0] += 1
            try:
                return self._client.messages.create(**params, extra_body=extra, timeout=timeout)
            except (anthropic.APIError, httpx2.TransportError) as exc:
                reached[0] = reached[0] or connect_cause(exc) is None
                if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
                    cause = exc.__cause__ if isinstance(exc, anthropic.APIError) else exc
                    billable[0] = not isinstance(cause, _NOT_SENT)
                raise

        try:
            message = self._retrier.run(call, stopping=stopping)
        except ValueError as exc:  # the SDK refuses before sending anything
            raise ConfigError(
                f"request {request.key!r}: {exc} (lower max_tokens, or use batch mode)"
            ) from None
        except (anthropic.APIError, httpx2.TransportError) as exc:
            error = self._retrier.describe(exc)
            timed_out = None
            if isinstance(exc, anthropic.APITimeoutError):
                error = timed_out = _timed_out(exc, timeout)
            if classify(exc) == "retry":
                tried = attempts[0]
                if tried < self._retrier.max_attempts:
                    error += f" (not retried after {_attempts(tried)}: the run is stopping)"
                else:
                    error += f" (gave up after {_attempts(tried)})"
            how = failure(
                exc, reached=reached[0], where=public_url(self._client.base_url), cause=timed_out
            )
            return error_result(request, error, "live", answered=not billable[0], failure=how)
        return result_from_message(request, message, "live")


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"
