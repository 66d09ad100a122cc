"""Generation backends: the seam every backend implements, and the factory.

- `base`: the `Backend` protocol and what crosses it (`GenerationRequest`,
  `GenerationResult`, `Usage`, `Failure`, the callbacks, `StopSending`).
- `factory`: `open_backend(name, ...)` and `default_backend()`.
- `offline`: `OfflineBackend`, deterministic documents without a model.
- `anthropic`: `AnthropicBackend`, live Messages calls or Message Batches over
  the official SDK. Not imported here: the factory loads it (and the SDK) only
  when a run asks for it, so commands that never call the API start fast.
"""

from toolkit.generate.backends.base import (
    MAX_CONCURRENCY,
    Backend,
    Failure,
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SentCallback,
    StopSending,
    SystemBlock,
    Usage,
    check_concurrency,
    check_timeout,
    reads_prompts,
)
from toolkit.generate.backends.factory import (
    BACKENDS,
    DEFAULT_MODEL,
    OFFLINE_MODEL,
    default_backend,
    open_backend,
)
from toolkit.generate.backends.offline import OfflineBackend

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "MAX_CONCURRENCY",
    "OFFLINE_MODEL",
    "Backend",
    "Failure",
    "GenerationRequest",
    "GenerationResult",
    "OfflineBackend",
    "ResultCallback",
    "SentCallback",
    "StopSending",
    "SystemBlock",
    "Usage",
    "check_concurrency",
    "check_timeout",
    "default_backend",
    "open_backend",
    "reads_prompts",
]
