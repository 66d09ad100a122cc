"""A model's JSON reply, read strictly: one JSON value, optionally in one code fence.

Both judges (quality and contamination) ask for one JSON object; what is not
JSON is their `ReplyError`, with the parser's message, never a guessed value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from toolkit.errors import ReplyError

__all__ = ["reply_json"]

_FENCE = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n```$", re.DOTALL)


def reply_json(text: str, error: type[ReplyError]) -> Any:
    """The JSON value in `text` (inside a code fence if it is one); `error` if it is not JSON."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced["body"].strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError as err:
        raise error(f"not JSON: {err.msg} at column {err.colno}") from None
