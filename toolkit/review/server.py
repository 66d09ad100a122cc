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

__all__ = ["RedactToken", "access_token", "listen", "serve"]

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


def serve(
    settings: ReviewSettings,
    *,
    port: int = 8765,
    log_level: str = "info",
    out: TextIO | None = None,
) -> None:
    """Serve until interrupted; the link to open goes to `out` (stderr)."""
    app = create_app(settings)
    sock = listen(settings.host, port)
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
