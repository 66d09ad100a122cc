"""Choosing and building a backend by name, for the CLI and scripts alike."""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.generate.backends.base import Backend, check_concurrency, check_timeout
from toolkit.generate.backends.offline import OfflineBackend

__all__ = ["BACKENDS", "DEFAULT_MODEL", "OFFLINE_MODEL", "default_backend", "open_backend"]

BACKENDS = ("offline", "anthropic")
DEFAULT_MODEL = "claude-sonnet-5-5"
#: The model name offline runs key their requests with, so their results never
#: stand in for a real model's in a journal.
OFFLINE_MODEL = "offline"
BATCH_STATE = "batches.json"


def default_backend() -> str:
    """The backend a run uses by default: anthropic with `ANTHROPIC_API_KEY` set, else offline."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "offline"


def open_backend(
    name: str,
    *,
    out_dir: str | Path,
    batch: bool = False,
    concurrency: int = 4,
    timeout: float | None = None,
) -> Backend:
    """The backend `name`; an Anthropic batch run keeps its batch ids in `DIR/batches.json`.

    `timeout` is the connect and read limit of each live call, in seconds
    (None: it follows each request's `max_tokens`). Both are checked whatever
    the backend, so a bad value fails the same way offline and live.
    """
    check_concurrency(concurrency)
    check_timeout(timeout)
    if name == "offline":
        return OfflineBackend()
    if name == "anthropic":
        from toolkit.generate.backends.anthropic import AnthropicBackend

        return AnthropicBackend(
            concurrency=concurrency,
            timeout=timeout,
            batch=batch,
            state_path=Path(out_dir) / BATCH_STATE if batch else None,
        )
    raise ConfigError(f"no backend {name!r}; expected one of {', '.join(BACKENDS)}")
