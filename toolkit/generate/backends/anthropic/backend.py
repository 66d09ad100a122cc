"""The Anthropic backend: live Messages calls or the Message Batches API.

It owns the client (built with `max_retries=0`, since retries happen here
through an injectable `sleep`) and chooses the path; the work itself lives in
`live` and `batch`, over shared request building, result
parsing and error handling in `common`. The key is never stored on
the backend, never printed, and masked in every error it reports.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anthropic
import httpx2

from toolkit.errors import ConfigError
from toolkit.generate.backends.anthropic.batch import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchRunner,
)
from toolkit.generate.backends.anthropic.common import Retrier
from toolkit.generate.backends.anthropic.live import STALL_AFTER, LiveRunner
from toolkit.generate.backends.anthropic.state import BatchState
from toolkit.generate.backends.base import (
    GenerationRequest,
    ResultCallback,
    SentCallback,
    check_timeout,
)
from toolkit.generate.pricing import price_for

__all__ = ["AnthropicBackend"]


class AnthropicBackend:
    """Generates with Claude through the official SDK; `batch=True` uses Message Batches.

    Without `client`, one is built from `api_key` or `ANTHROPIC_API_KEY`
    (`ANTHROPIC_BASE_URL` is honoured as the SDK does); `http_client` lets tests
    and proxies supply the transport. `state_path` makes batch runs resumable.
    `timeout` bounds connect and read of each live call (None: the read limit
    follows `max_tokens`, see `live.default_timeout`); batch calls
    keep the SDK's limits, since an upload or a results file can be large.
    """

    name = "anthropic"

    def __init__(
        self,
        client: anthropic.Anthropic | None = None,
        *,
        api_key: str | None = None,
        http_client: httpx2.Client | None = None,
        concurrency: int = 4,
        timeout: float | None = None,
        stall_after: float = STALL_AFTER,
        warn: Callable[[str], None] | None = None,
        max_attempts: int = 6,
        sleep: Callable[[float], Any] = time.sleep,
        rng_seed: int = 0,
        batch: bool = False,
        state_path: str | Path | None = None,
        poll_interval: float = 30.0,
        max_batch_requests: int = MAX_BATCH_REQUESTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        check_timeout(timeout)
        if client is None:
            key = api_key or os.environ.get("ANTHROPIC_API_KEY")
            if not key:
                raise ConfigError(
                    "ANTHROPIC_API_KEY is not set; use --backend offline to generate "
                    "without the API, or export the key"
                )
            client = anthropic.Anthropic(api_key=key, max_retries=0, http_client=http_client)
        else:
            client = client.with_options(max_retries=0)
        secrets = (client.api_key, client.auth_token)
        retrier = Retrier(
            max_attempts=max_attempts, sleep=sleep, rng=random.Random(rng_seed), secrets=secrets
        )
        self.batch = batch
        self._live = LiveRunner(
            client,
            retrier,
            concurrency=concurrency,
            timeout=timeout,
            stall_after=stall_after,
            warn=warn,
        )
        self._batch = BatchRunner(
            client,
            retrier,
            state=BatchState(state_path),
            poll_interval=poll_interval,
            max_requests=max_batch_requests,
            max_bytes=max_batch_bytes,
            secrets=secrets,
        )

    def __repr__(self) -> str:
        return f"AnthropicBackend(batch={self.batch})"

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: ResultCallback,
        on_sent: SentCallback | None = None,
    ) -> None:
        """Answer every request, reporting each through `on_result` as it completes
        and each billable send through `on_sent`.

        Every model is priced before anything is sent, so an unknown model fails
        fast with `ConfigError` instead of running up unaccounted costs.
        """
        for model in sorted({r.model for r in requests}):
            price_for(model)
        if self.batch:
            self._batch.run(requests, on_result, on_sent)
        else:
            self._live.run(requests, on_result, on_sent)
