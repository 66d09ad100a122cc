"""The Anthropic backend, over the official SDK.

- `backend`: `AnthropicBackend`, which owns the client and picks the path.
- `live`: Messages calls from a bounded thread pool, each with a time limit.
- `batch`: the Message Batches API, resumable through `state`.
- `common`: the request body, reading a Message back, classifying failures
  and retrying them, shared by both paths.
- `state`: the record of submitted batches (`DIR/batches.json` of a run).
"""

from toolkit.generate.backends.anthropic.backend import AnthropicBackend

__all__ = ["AnthropicBackend"]
