"""Run the review page with uvicorn: listen, say where, keep the token out of logs.

The socket is bound here, before uvicorn starts, so "port in use" is one
clear error instead of a server log. Bound beyond loopback, the server gets
a fresh random token unless one is given; it is printed once on stderr as
part of the link to open, and redacted from the access log.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import sys
from typing import TextIO

import uvicorn

from toolkit.errors import InputError
from toolkit.review.web import ReviewSettings, create_app, is_loopback

__all__ = ["DEFAULT_PORT", "RedactToken", "access_token", "listen", "listen_near", "serve"]

#: The port the page is served on unless told; when it is taken, the next free one.
DEFAULT_PORT = 8765
_TRIES = 20

_TOKEN = re.compile(r"(token=)[^&\s\"]+")


def access_token(host: str, given: str | None = None) -> str | None:
    """The token the server will require: None on loopback, else `given` or a new one."""
    if is_loopback(host):
        return given
    return given or secrets.token_urlsafe(32)


class RedactToken(logging.Filter):
    """Replace `token=...` in access-log lines; the link is the only place it appears."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        record.msg = _TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise InputError(f"--host {host} --port {port}: cannot listen ({err.strerror})") from None
    return sock


def listen_near(host: str, port: int = DEFAULT_PORT, tries: int = _TRIES) -> socket.socket:
    """A socket on `port`, or on the first free one of the `tries` ports after it.

    For the default port only: a second review page, or another program on
    8765, should not stop a curator; an explicit `--port` is taken as given.
    """
    for candidate in range(port, port + tries):
        try:
            return listen(host, candidate)
        except InputError:
            continue
    raise InputError(
        f"--host {host}: ports {port}-{port + tries - 1} are all in use; pass --port N (0: any)"
    )


def serve(
    settings: ReviewSettings,
    *,
    port: int | None = None,
    log_level: str = "info",
    out: TextIO | None = None,
) -> None:
    """Serve until interrupted; the link to open goes to `out` (stderr).

    `port=None` is the default port, or the next free one when it is taken.
    """
    app = create_app(settings)
    sock = listen_near(settings.host) if port is None else listen(settings.host, port)
    bound = sock.getsockname()[1]
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    link = f"http://{shown}:{bound}/" + (f"?token={settings.token}" if settings.token else "")
    stream = out or sys.stderr
    stream.write(f"review: open {link}\n")
    if settings.token:
        stream.write(
            "review: listening beyond this machine; anyone with the link can review. "
            "Replace the address with one they can reach.\n"
        )
    stream.flush()
    config = uvicorn.Config(
        app,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # a proxy could otherwise claim to be 127.0.0.1
        access_log=True,
        ws="none",  # no websockets: nothing to upgrade to
    )
    logging.getLogger("uvicorn.access").addFilter(RedactToken())
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
