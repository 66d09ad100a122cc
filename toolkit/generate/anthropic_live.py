"""Live Messages API calls: a bounded thread pool, one retried call per request.

Each worker reports its own result under a lock, so `on_result` runs in one
thread at a time and a result is journaled as soon as it exists. A failure of
one request becomes that request's error result; a failure no request can
survive (refused credentials, or `on_result` itself raising) stops new calls,
lets the calls already in flight report, then propagates.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

import anthropic
import httpx2
from anthropic.types import Message

from toolkit.errors import ConfigError
from toolkit.generate.anthropic_common import (
    Retrier,
    classify,
    error_result,
    extra_body,
    message_params,
    result_from_message,
)
from toolkit.generate.backend import GenerationRequest, GenerationResult, ResultCallback

__all__ = ["LiveRunner"]


class LiveRunner:
    """Answers requests with `client.messages.create`, at most `concurrency` at once."""

    def __init__(self, client: anthropic.Anthropic, retrier: Retrier, *, concurrency: int) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self._client = client
        self._retrier = retrier
        self._concurrency = concurrency

    def run(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        report_lock = threading.Lock()
        stop = threading.Event()

        def work(request: GenerationRequest) -> None:
            if stop.is_set():
                return
            try:
                result = self._answer(request)
            except BaseException:
                stop.set()
                raise
            with report_lock:
                try:
                    on_result(result)
                except BaseException:
                    stop.set()
                    raise

        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="anthropic") as pool:
            futures: list[Future[None]] = [pool.submit(work, r) for r in requests]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # e.g. KeyboardInterrupt while waiting
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            errors = [exc for f in done if (exc := f.exception()) is not None]
            if errors:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise errors[0]

    def _answer(self, request: GenerationRequest) -> GenerationResult:
        params = message_params(request)
        extra = extra_body(request) or None

        def call() -> Message:
            return self._client.messages.create(**params, extra_body=extra)

        try:
            message = self._retrier.run(call)
        except ValueError as exc:  # the SDK refuses before sending anything
            raise ConfigError(
                f"request {request.key!r}: {exc} (lower max_tokens, or use batch mode)"
            ) from None
        except (anthropic.APIError, httpx2.TransportError) as exc:
            error = self._retrier.describe(exc)
            if classify(exc) == "retry":
                error += f" (gave up after {self._retrier.max_attempts} attempts)"
            return error_result(request, error, "live")
        return result_from_message(request, message, "live")
