"""A fake Anthropic API served through `httpx2.MockTransport`, or on a real socket.

Tests drive the real SDK against it: the fake answers with the JSON shapes the
API documents, records every request it receives (parsed bodies included),
and can be scripted per route to fail before it succeeds. The SDK 2.x runs on
`httpx2` and rejects `httpx` objects, so the transport comes from `httpx2`.
`LocalAPI` serves the same fake over HTTP on 127.0.0.1, for what a mock
transport cannot show: a server that takes a request and never answers, and
the CLI, which builds its own client. `closed_port_url` is an address where
nothing listens, so every connection is refused, as with the network down.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import anthropic
import httpx2

KEY = "sk-ant-api03-TEST-SECRET-do-not-leak-0123456789"
MODEL = "claude-sonnet-4-6"


def closed_port_url() -> str:
    """`http://127.0.0.1:PORT` for a port just bound and closed: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


_ROUTE = re.compile(r"/v1/messages(?:/batches(?:/(?P<id>[^/]+)(?P<results>/results)?)?)?$")


@dataclass(frozen=True)
class Reply:
    """A scripted HTTP answer; status 0 means the connection fails instead, and
    `TIMEOUT` that the read times out, as the real transport raises it."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    TIMEOUT = -1

    @classmethod
    def timeout(cls) -> Reply:
        return cls(cls.TIMEOUT)

    @classmethod
    def error(cls, status: int, kind: str, message: str = "", **headers: str) -> Reply:
        body = {"type": "error", "error": {"type": kind, "message": message or kind}}
        return cls(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    route: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout: dict[str, float | None] = field(default_factory=dict)


@dataclass
class _Script:
    route: str
    reply: Reply
    when: Callable[[Any], bool] | None
    times: int


@dataclass
class _Batch:
    id: str
    items: list[tuple[str, str, dict[str, Any]]]  # custom_id, outcome, params
    polls: int = 0


class FakeAnthropic:
    """Plays the Messages and Message Batches endpoints.

    `outcomes[custom_id]` is a queue of batch outcomes ("succeeded", "expired",
    "canceled", "errored" or "errored:<error type>") used one per submission.
    `gather=n` holds each /v1/messages call until n are in flight (or all
    `expect` calls have arrived), then a moment longer for any extra caller to
    pile up, so a test sees the most calls that ever run at once.
    """

    def __init__(self, *, polls_before_end: int = 1, gather: int = 0, expect: int = 0) -> None:
        self.seen: list[Seen] = []
        self.before: Callable[[str], None] | None = None  # called with each route
        self.break_results = 0  # how many results downloads die mid-stream
        self.break_messages = 0  # how many /v1/messages answers die mid-body
        self.outcomes: dict[str, list[str]] = {}
        self.polls_before_end = polls_before_end
        self.gather = gather
        self.expect = expect
        self.arrived = 0
        self.usage = {
            "input_tokens": 20,
            "output_tokens": 10,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 300,
        }
        self.in_flight = 0
        self.max_in_flight = 0
        self.batches: dict[str, _Batch] = {}
        self._scripts: list[_Script] = []
        self._lock = threading.Condition()
        self._ids = itertools.count(1)

    # -- set-up -------------------------------------------------------------
    def script(
        self,
        route: str,
        *replies: Reply,
        when: Callable[[Any], bool] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next matching `route` requests with `replies`, in order."""
        for reply in replies:
            self._scripts.append(_Script(route, reply, when, times))

    def http_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def client(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=KEY, http_client=self.http_client())

    def sent(self, route: str) -> list[Seen]:
        return [s for s in self.seen if s.route == route]

    def wait_arrived(self, count: int, timeout: float = 30.0) -> bool:
        """Block until `count` Messages calls have arrived (False on timeout)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.arrived >= count, timeout=timeout)

    # -- the API ------------------------------------------------------------
    def handle(self, request: httpx2.Request) -> httpx2.Response:
        match = _ROUTE.search(request.url.path)
        body = json.loads(request.content) if request.content else None
        route = self._route(request.method, match)
        if self.before is not None:
            self.before(route)
        with self._lock:
            limits = dict(request.extensions.get("timeout", {}))
            self.seen.append(
                Seen(request.method, route, str(request.url), dict(request.headers), body, limits)
            )
            scripted = self._scripted(route, body)
        if scripted is not None and scripted.status == 0:
            raise httpx2.ConnectError("connection refused", request=request)
        if scripted is not None and scripted.status == Reply.TIMEOUT:
            raise httpx2.ReadTimeout("timed out", request=request)
        if scripted is not None:
            return self._respond(scripted)
        if route == "messages":
            return self._message(body)
        if route == "batches.create":
            return self._create(body)
        if route in ("batches.retrieve", "batches.results") and match is not None:
            batch = self.batches.get(match["id"])
            if batch is None:
                return self._respond(Reply.error(404, "not_found_error", "no such batch"))
            if route == "batches.retrieve":
                return self._retrieve(batch, request)
            return self._results(batch)
        return self._respond(Reply.error(404, "not_found_error", f"no route {request.url.path}"))

    @staticmethod
    def _route(method: str, match: re.Match[str] | None) -> str:
        if match is None:
            return "unknown"
        if match["results"]:
            return "batches.results"
        if match["id"]:
            return "batches.retrieve"
        if match.group(0).endswith("/batches"):
            return "batches.create" if method == "POST" else "batches.list"
        return "messages"

    def _scripted(self, route: str, body: Any) -> Reply | None:
        for script in self._scripts:
            if script.route == route and (script.when is None or script.when(body)):
                script.times -= 1
                if script.times <= 0:
                    self._scripts.remove(script)
                return script.reply
        return None

    @staticmethod
    def _respond(reply: Reply) -> httpx2.Response:
        return httpx2.Response(reply.status, json=reply.body, headers=reply.headers)

    def message_json(self, params: dict[str, Any]) -> dict[str, Any]:
        prompt = params["messages"][-1]["content"]
        return {
            "id": f"msg_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [
                {"type": "text", "text": "answer to "},
                {"type": "text", "text": prompt},
            ],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": dict(self.usage),
        }

    def _message(self, body: Any) -> httpx2.Response:
        with self._lock:
            self.in_flight += 1
            self.arrived += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._lock.notify_all()
            if self.gather:
                self._lock.wait_for(
                    lambda: self.in_flight >= self.gather or self.arrived >= self.expect,
                    timeout=5.0,
                )
                deadline = time.monotonic() + 0.02
                while (left := deadline - time.monotonic()) > 0:
                    self._lock.wait(left)
        try:
            if self.break_messages > 0:
                self.break_messages -= 1
                content = json.dumps(self.message_json(body)).encode()
                headers = {"content-type": "application/json"}
                return httpx2.Response(200, stream=_BrokenStream(content), headers=headers)
            return httpx2.Response(200, json=self.message_json(body))
        finally:
            with self._lock:
                self.in_flight -= 1

    def _create(self, body: Any) -> httpx2.Response:
        batch_id = f"msgbatch_{next(self._ids):04d}"
        items = []
        for item in body["requests"]:
            queue = self.outcomes.get(item["custom_id"]) or []
            outcome = queue.pop(0) if queue else "succeeded"
            items.append((item["custom_id"], outcome, item["params"]))
        batch = _Batch(batch_id, items)
        self.batches[batch_id] = batch
        return httpx2.Response(200, json=self._batch_json(batch, None))

    def _retrieve(self, batch: _Batch, request: httpx2.Request) -> httpx2.Response:
        batch.polls += 1
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        prefix = request.url.path.split("/v1/")[0]
        return httpx2.Response(200, json=self._batch_json(batch, origin + prefix))

    def _batch_json(self, batch: _Batch, origin: str | None) -> dict[str, Any]:
        ended = batch.polls > self.polls_before_end
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        for _, outcome, _ in batch.items:
            counts[outcome.split(":")[0] if ended else "processing"] += 1
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": "2026-11-23T10:00:00Z",
            "expires_at": "2026-11-24T10:00:00Z",
            "ended_at": "2026-11-23T11:00:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{origin}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _results(self, batch: _Batch) -> httpx2.Response:
        lines = []
        for custom_id, outcome, params in reversed(batch.items):  # order is not guaranteed
            kind, _, error_type = outcome.partition(":")
            result: dict[str, Any] = {"type": kind}
            if kind == "succeeded":
                result["message"] = self.message_json(params)
            elif kind == "errored":
                error = {"type": error_type or "api_error", "message": "Internal server error"}
                result["error"] = {"type": "error", "error": error}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        content = ("\n".join(lines) + "\n").encode()
        headers = {"content-type": "application/binary"}
        if self.break_results > 0:
            self.break_results -= 1
            return httpx2.Response(200, stream=_BrokenStream(content), headers=headers)
        return httpx2.Response(200, content=content, headers=headers)


class _BrokenStream(httpx2.SyncByteStream):
    """Sends the first line of a body (half of a one-line body), then the connection drops."""

    def __init__(self, content: bytes) -> None:
        first, newline, _ = content.partition(b"\n")
        self._first = first + newline if newline else content[: len(content) // 2]

    def __iter__(self) -> Iterator[bytes]:
        yield self._first
        raise httpx2.ReadError("connection reset mid-stream")


class LocalAPI:
    """The fake on a real HTTP server at `url` (127.0.0.1, a free port), as a context.

    Every request goes through `fake.handle`; those after the first
    `hold_after` are then held unanswered (the API has done the work, the
    client never hears of it) until the server closes. `hold_after=0` is a
    server that accepts and never answers. Each connection serves one request,
    so closing never waits on an idle keep-alive connection.
    """

    def __init__(self, fake: FakeAnthropic | None = None, *, hold_after: int | None = None) -> None:
        self.fake = fake or FakeAnthropic()
        self.hold_after = hold_after
        self._count = itertools.count(1)
        self._release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                self.close_connection = True
                length = int(self.headers.get("content-length") or 0)
                request = httpx2.Request(
                    self.command,
                    f"http://127.0.0.1{self.path}",
                    headers=dict(self.headers),
                    content=self.rfile.read(length),
                )
                response = api.fake.handle(request)
                held = api.hold_after is not None and next(api._count) > api.hold_after
                if held:
                    api._release.wait(timeout=60.0)
                    return
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("connection", "content-length"):
                        self.send_header(name, value)
                body = response.read()
                self.send_header("content-length", str(len(body)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalAPI:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
