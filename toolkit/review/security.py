"""One ASGI guard in front of every route: host, token, body size, CSRF, headers.

- Bound to loopback, only loopback Host names are served (a DNS-rebinding
  page cannot read the queue through the curator's browser).
- Bound anywhere else, every request carries the access token: once as
  `?token=` (traded for an HttpOnly cookie and a redirect that drops it from
  the address bar), then by cookie, or in an `X-Review-Token` header.
- Bodies over `max_body` bytes are refused with 413 before any route runs.
- CSRF, bound to this server: the `ccorpus_csrf` cookie holds a random
  session id (at least 32 characters; a shorter or missing one is replaced),
  and the token the pages embed is HMAC-SHA256(server secret, session id).
  Every write must send that token in a `csrf` form field or `X-CSRF-Token`
  header, compared in constant time. The secret lives in this process only,
  so a cookie planted by another service on localhost (any port may set
  cookies for the host) yields no valid token; after a restart, open pages
  are refused once with 403 and a reload fixes them.
- Every write must also come from this server's own page: an `Origin` (or,
  lacking one, a `Referer`) other than exactly our scheme://host:port is
  refused with 403 (a page on another localhost port counts as same-site, so
  SameSite=Lax alone would let it post). `Origin: null` counts as foreign. A
  write carrying neither header is let through to the token check: browsers
  send `Origin` on every cross-origin POST, so only non-browser clients omit
  both, and they cannot hold a token without reading our page first. Our
  pages send `Referrer-Policy: same-origin`, which keeps our own form posts'
  `Origin` real (under `no-referrer` a browser sends `Origin: null`).
- Every response gets a strict CSP (no inline script or style), nosniff and
  frame-ancestors 'none'; pages are not cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from starlette.requests import cookie_parser

__all__ = ["CSRF_COOKIE", "MIN_SESSION", "TOKEN_COOKIE", "Guard", "csrf_token", "parse_form"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "ccorpus_csrf"
TOKEN_COOKIE = "ccorpus_token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_SESSION = 32  # characters of the session cookie; secrets.token_urlsafe(32) gives 43
DEFAULT_PORTS = {"http": 80, "https": 443}
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
FORM_TYPE = "application/x-www-form-urlencoded"
COOKIE_FLAGS = "Path=/; HttpOnly; SameSite=Lax"  # Lax: a link from a chat still works


def parse_form(body: bytes) -> dict[str, list[str]]:
    """An urlencoded body as lists of values (bad UTF-8 is replaced, not raised)."""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def csrf_token(secret: bytes, session: str) -> str:
    """The form token of a session: only a holder of `secret` can compute it."""
    digest = hmac.new(secret, b"ccorpus-csrf\0" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """Wraps the review app; see the module docstring for what it enforces."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        loopback: bool,
        max_body: int = 1_000_000,
        secret: bytes | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback
        self.max_body = max_body
        self.secret = secret or secrets.token_bytes(32)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # Lenient parse: other apps on localhost share these cookies, and one odd
        # value makes http.cookies drop every cookie after it.
        cookies = cookie_parser(headers.get("cookie", ""))
        if not await self._allowed(scope, headers, cookies, send):
            return
        write = scope["method"] not in SAFE_METHODS
        if write and not _own_origin(scope, headers):
            await _plain(
                send, 403, "This write did not come from this server's own page (Origin check)."
            )
            return
        body = await self._body(headers, receive, send)
        if body is None:
            return
        session = cookies.get(CSRF_COOKIE, "")
        valid_session = len(session) >= MIN_SESSION
        expected = csrf_token(self.secret, session) if valid_session else None
        if write and not _same(_sent_csrf(headers, body), expected):
            await _plain(
                send,
                403,
                "This form has expired or did not come from this page (CSRF check failed). "
                "Reload the page and try again.",
            )
            return
        set_cookies: list[bytes] = []
        if not valid_session:
            session = secrets.token_urlsafe(32)
            set_cookies.append(f"{CSRF_COOKIE}={session}; {COOKIE_FLAGS}".encode())
        scope.setdefault("state", {})["csrf"] = csrf_token(self.secret, session)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # blocks until the client disconnects
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        cache = [] if scope["path"].startswith("/static/") else [(b"cache-control", b"no-store")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [*HEADERS, *cache, *((b"set-cookie", c) for c in set_cookies)]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, replay, send_with_headers)

    async def _allowed(
        self, scope: Scope, headers: dict[str, str], cookies: dict[str, str], send: Send
    ) -> bool:
        """Host and token checks; answers the request itself when it is refused."""
        if self.loopback and _hostname(headers.get("host", "")) not in LOOPBACK_NAMES:
            await _plain(send, 400, "Unexpected Host header: open the review page via 127.0.0.1.")
            return False
        if self.token is None:
            return True
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = dict(pairs).get("token")
        if given is not None and _same(given, self.token):
            rest = urlencode([(k, v) for k, v in pairs if k != "token"])
            location = scope["path"] + (f"?{rest}" if rest else "")
            cookie = f"{TOKEN_COOKIE}={self.token}; {COOKIE_FLAGS}"
            await _plain(send, 303, "See Other", [("location", location), ("set-cookie", cookie)])
            return False
        if _same(cookies.get(TOKEN_COOKIE), self.token) or _same(
            headers.get("x-review-token"), self.token
        ):
            return True
        await _plain(
            send,
            401,
            "This review server needs its access token: open the link it printed when it started.",
        )
        return False

    async def _body(self, headers: dict[str, str], receive: Receive, send: Send) -> bytes | None:
        """The whole request body, or None once a 413 (or a disconnect) ended the request."""
        too_large = f"Request body too large (limit {self.max_body} bytes)."
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > self.max_body:
            await _plain(send, 413, too_large)
            return None
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                await _plain(send, 413, too_large)
                return None
        return body


def _sent_csrf(headers: dict[str, str], body: bytes) -> str | None:
    sent = headers.get("x-csrf-token")
    if sent is None and headers.get("content-type", "").startswith(FORM_TYPE):
        sent = (parse_form(body).get("csrf") or [""])[0]
    return sent


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, default ports filled in; None if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _own_origin(scope: Scope, headers: dict[str, str]) -> bool:
    """False when a write's Origin (else Referer) is not exactly this server's origin."""
    sent = headers.get("origin")
    if sent is None:
        sent = headers.get("referer")
    if sent is None:
        return True  # no browser omits both on a cross-origin POST; the token still applies
    ours = _origin(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
    return ours is not None and _origin(sent) == ours


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _plain(
    send: Send, status: int, text: str, headers: list[tuple[str, str]] | None = None
) -> None:
    """A short text response carrying the same security headers as every page."""
    body = (text + "\n").encode()
    raw = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *HEADERS,
        *((k.encode(), v.encode("latin-1")) for k, v in headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
