"""Message Batches: chunk, submit, record, poll, collect, re-queue; resumable.

Every submitted batch is written to the state file (atomically) before any
polling, with the keys it holds and a digest of each request's body. A rerun
with the same state file therefore polls and collects what was submitted
instead of paying for it twice: a key is *owned* by the latest batch that
holds it, and is sent again only when that batch is collected or the request
changed since. Items that come back `expired`, `canceled` or `errored` with a
transient error go into a new batch, up to `max_attempts` batches per key.
A request is reported sent (`on_sent`) once, with its first batch: a batch
bills only the items that succeed, so a re-queued item is not a second send.

When `on_result` raises `StopSending` (a run stopping early), the results at
hand are still all reported (the rest of a failed submission, the rest of an
ended batch), then no batch is submitted and none is waited for: batches
already submitted stay in the state file, and a rerun collects them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar, cast

import anthropic
import httpx2
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from anthropic.types.messages.batch_create_params import Request as BatchItem

from toolkit.errors import BackendError, ConfigError
from toolkit.generate.backends.anthropic.common import (
    SERVICE,
    Retrier,
    connect_cause,
    error_result,
    extra_body,
    failure,
    mask,
    message_params,
    public_url,
    result_from_message,
)
from toolkit.generate.backends.anthropic.state import BatchEntry, BatchState
from toolkit.generate.backends.base import (
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    StopSending,
)

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_REQUESTS", "BatchRunner"]

T = TypeVar("T")
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
_KEY = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ENVELOPE_BYTES = len(b'{"requests":[]}')
# A connection lost mid-download: older SDKs let the transport error through,
# 2.17 and later wrap it in `APIConnectionError` (`APITimeoutError` for a stall).
_DROPPED = (httpx2.TransportError, anthropic.APIConnectionError)
# Errors that would recur on resubmission; anything else is worth another batch.
_PERMANENT = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "billing_error",
    }
)


def batch_item(request: GenerationRequest) -> BatchItem:
    """The batch line for `request`: its key as `custom_id`, the live body as `params`."""
    params = cast(
        MessageCreateParamsNonStreaming, {**message_params(request), **extra_body(request)}
    )
    return {"custom_id": request.key, "params": params}


def digest(item: BatchItem) -> str:
    """A short fingerprint of what was sent, to notice a request edited between runs."""
    blob = json.dumps(item["params"], sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def check_keys(requests: Sequence[GenerationRequest]) -> None:
    """Batch `custom_id`s must be unique and match `^[a-zA-Z0-9_-]{1,64}$`."""
    seen: set[str] = set()
    for request in requests:
        if not _KEY.match(request.key):
            raise ConfigError(
                f"request key {request.key!r} cannot be a batch custom_id: "
                "use 1-64 characters from a-z, A-Z, 0-9, '_' and '-'"
            )
        if request.key in seen:
            raise ConfigError(f"request key {request.key!r} appears twice; keys must be unique")
        seen.add(request.key)


class BatchRunner:
    """Answers requests through the Message Batches API (half price, within 24 hours)."""

    def __init__(
        self,
        client: anthropic.Anthropic,
        retrier: Retrier,
        *,
        state: BatchState,
        poll_interval: float,
        max_requests: int = MAX_BATCH_REQUESTS,
        max_bytes: int = MAX_BATCH_BYTES,
        secrets: Sequence[str | None] = (),
    ) -> None:
        if max_requests < 1 or max_bytes <= _ENVELOPE_BYTES:
            raise ConfigError(f"batch limits too small: {max_requests} requests, {max_bytes} bytes")
        self._client = client
        self._retrier = retrier
        self._state = state
        self._poll_interval = poll_interval
        self._max_requests = max_requests
        self._max_bytes = max_bytes
        self._secrets = tuple(secrets)
        self._wanted: dict[str, GenerationRequest] = {}
        self._pending: list[BatchEntry] = []
        self._on_result: ResultCallback = lambda result: None
        self._on_sent: SentCallback | None = None
        self._stopping: StopSending | None = None
        self._where = public_url(client.base_url)

    def run(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        check_keys(requests)
        self._wanted = {r.key: r for r in requests}
        self._on_result = on_result
        self._on_sent = on_sent
        self._pending = []
        self._stopping = None
        fresh: list[GenerationRequest] = []
        for request in requests:
            entry = self._state.owner(request.key)
            if (
                entry is None
                or entry.collected
                or entry.keys[request.key] != digest(batch_item(request))
            ):
                fresh.append(request)
            elif entry not in self._pending:
                self._pending.append(entry)  # submitted by an earlier run: collect, never resend
        self._submit(fresh, attempt=1)
        self._drain()

    def _emit(self, result: GenerationResult) -> None:
        if self._wanted.pop(result.key, None) is not None:
            try:
                self._on_result(result)
            except StopSending as stop:  # report the rest at hand, then stop
                self._stopping = self._stopping or stop

    def _failure(self, cause: str) -> Failure:
        return Failure(cause, service=SERVICE, where=self._where)

    def _submit(self, requests: Sequence[GenerationRequest], *, attempt: int) -> None:
        """Send `requests` in as few batches as the count and size limits allow."""
        chunk: list[tuple[GenerationRequest, BatchItem]] = []
        size = _ENVELOPE_BYTES
        for request in requests:
            if self._stopping:
                return
            item = batch_item(request)
            n = len(json.dumps(item, ensure_ascii=False).encode()) + 1
            if _ENVELOPE_BYTES + n > self._max_bytes:
                error = f"request is {n} bytes, over the batch size limit of {self._max_bytes}"
                how = self._failure("request over the batch size limit")
                self._emit(error_result(request, error, "batch", failure=how))
                continue
            if chunk and (len(chunk) >= self._max_requests or size + n > self._max_bytes):
                self._create(chunk, attempt)
                chunk, size = [], _ENVELOPE_BYTES
                if self._stopping:
                    return
            chunk.append((request, item))
            size += n
        if chunk:
            self._create(chunk, attempt)

    def _create(self, chunk: list[tuple[GenerationRequest, BatchItem]], attempt: int) -> None:
        items = [item for _, item in chunk]
        if attempt == 1 and self._on_sent is not None:
            for request, _ in chunk:
                self._on_sent(request, "batch")
        reached = [False]  # whether any attempt got through to the API

        def create() -> MessageBatch:
            try:
                return self._client.messages.batches.create(requests=items)
            except (anthropic.APIError, httpx2.TransportError) as exc:
                reached[0] = reached[0] or connect_cause(exc) is None
                raise

        try:
            batch = self._retrier.run(create)
        except (anthropic.APIError, httpx2.TransportError) as exc:
            error = f"batch submission failed: {self._retrier.describe(exc)}"
            how = failure(exc, reached=reached[0], where=self._where)
            for request, _ in chunk:
                self._emit(error_result(request, error, "batch", failure=how))
            return
        entry = BatchEntry(batch.id, attempt, {item["custom_id"]: digest(item) for item in items})
        self._state.add(entry)  # on disk before anything waits on it
        self._pending.append(entry)

    def _drain(self) -> None:
        """Poll pending batches, collecting each as it ends, until none is left
        (or the run is stopping: then raise its `StopSending`)."""
        while self._pending and not self._stopping:
            ended = False
            for entry in list(self._pending):
                retrieve = partial(self._client.messages.batches.retrieve, entry.id)
                batch = self._call(retrieve, f"poll batch {entry.id}")
                if batch.processing_status == "ended":
                    self._pending.remove(entry)
                    self._collect(entry)
                    ended = True
                if self._stopping:
                    break
            if self._pending and not ended and not self._stopping:
                self._retrier.sleep(self._poll_interval)
        if self._stopping:
            raise self._stopping

    def _collect(self, entry: BatchEntry) -> None:
        """Deliver an ended batch's results; re-queue what may succeed another time."""
        owned = {k for k in entry.keys if k in self._wanted and self._state.owner(k) is entry}
        retry: list[tuple[GenerationRequest, str, str]] = []  # request, error, cause

        def handle(item: MessageBatchIndividualResponse) -> None:
            request = self._wanted.get(item.custom_id)
            if request is None or item.custom_id not in owned:
                return
            owned.discard(item.custom_id)
            outcome = item.result
            if outcome.type == "succeeded":
                self._emit(result_from_message(request, outcome.message, "batch"))
            elif outcome.type == "errored":
                error = outcome.error.error
                kind = str(getattr(error, "type", "error"))
                text = mask(f"{kind}: {getattr(error, 'message', '')}", self._secrets)
                if kind in _PERMANENT:
                    self._emit(error_result(request, text, "batch", failure=self._failure(kind)))
                else:
                    retry.append((request, text, kind))
            else:
                why = f"request {outcome.type}"
                retry.append((request, why, why))

        self._each_result(entry.id, handle)
        missing = "missing from the batch results"
        retry += [(self._wanted[k], missing, missing) for k in owned]
        order = {key: i for i, key in enumerate(entry.keys)}  # results come in any order
        again: list[tuple[GenerationRequest, str, str]] = []
        for request, why, cause in sorted(retry, key=lambda item: order[item[0].key]):
            if entry.attempt < self._retrier.max_attempts:
                again.append((request, why, cause))
            else:
                error = f"{why} (gave up after {entry.attempt} batch attempts)"
                self._emit(error_result(request, error, "batch", failure=self._failure(cause)))
        if self._stopping:  # report them rather than leave them without a result
            for request, why, cause in again:
                error = f"{why} (not resubmitted: the run is stopping)"
                self._emit(error_result(request, error, "batch", failure=self._failure(cause)))
        else:
            self._submit([request for request, _, _ in again], attempt=entry.attempt + 1)
        self._state.mark_collected(entry)

    def _each_result(
        self, batch_id: str, handle: Callable[[MessageBatchIndividualResponse], None]
    ) -> None:
        """Stream the results file, starting over if the connection breaks mid-way."""
        attempt = 0
        while True:
            attempt += 1
            fetch = partial(self._client.messages.batches.results, batch_id)
            decoder = self._call(fetch, f"fetch the results of batch {batch_id}")
            try:
                items = iter(decoder)
                while True:
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    except _DROPPED as exc:
                        if attempt >= self._retrier.max_attempts:
                            raise self._lost(f"read the results of batch {batch_id}", exc) from None
                        self._retrier.sleep(self._retrier.delay(exc, attempt))
                        break
                    handle(item)  # a repeated custom_id is ignored by `handle`
            finally:
                decoder.close()

    def _call(self, call: Callable[[], T], what: str) -> T:
        try:
            return self._retrier.run(call)
        except (anthropic.AnthropicError, httpx2.TransportError) as exc:  # e.g. results archived
            raise self._lost(what, exc) from None

    def _lost(self, what: str, exc: BaseException) -> BackendError:
        where = f" ({self._state.path})" if self._state.path else ""
        return BackendError(
            f"could not {what}: {self._retrier.describe(exc)}; "
            f"rerun with the same state file{where} to resume without resubmitting"
        )
