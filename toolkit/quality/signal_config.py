"""A profile's `[signals]` table: what scoring looks for, checked whole when the profile loads.

Integers and numbers set windows and thresholds; lists are regular
expressions matched against the lower-cased text (curly apostrophes made
straight). Every mistake is a `ConfigError` naming the file and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from toolkit.errors import ConfigError

__all__ = ["FLOATS", "INTS", "LISTS", "SignalConfig", "parse_signal_config"]

INTS = {
    "opener_words": 5,
    "opener_min_docs": 20,
    "meta_window": 300,
    "grounding_top_words": 40,
    "coherence_min_words": 7,
    "quote_min_words": 6,
}
#: Cosine thresholds, in [-1, 1].
FLOATS = {"coherence_floor": 0.3}
LISTS = ("stock_openers", "stock_phrases", "meta_phrases", "deliberation_cues", "reason_patterns")
#: An upper-case letter that is not part of an escape such as \\W or \\S.
_UPPER = re.compile(r"(?<!\\)[A-Z]")


@dataclass(frozen=True, slots=True)
class SignalConfig:
    """What scoring looks for.

    Patterns are regular expressions matched against the lower-cased text
    (lower-casing once is several times faster than case-insensitive
    matching), so they must be written in lower case; curly apostrophes are
    made straight first, and `^` and `$` match at line boundaries. A pattern
    that begins with a literal word ("\\bbecause") is much faster to look
    for than one that begins with a group.

    `coherence_min_words`, `coherence_floor` and `quote_min_words` configure
    the embedding signals (see `toolkit.quality.coherence` and
    `toolkit.quality.relevance`);
    `reason_patterns` the structural reasoning signal
    (`toolkit.quality.reasoning`), which is null without them.
    """

    opener_words: int = 5
    opener_min_docs: int = 20
    meta_window: int = 300
    grounding_top_words: int = 40
    coherence_min_words: int = 5
    quote_min_words: int = 6
    coherence_floor: float = 0.3
    stock_openers: tuple[str, ...] = ()
    stock_phrases: tuple[str, ...] = ()
    meta_phrases: tuple[str, ...] = ()
    deliberation_cues: tuple[str, ...] = ()
    reason_patterns: tuple[str, ...] = ()


def _patterns(where: str, key: str, table: dict[str, Any]) -> tuple[str, ...]:
    patterns = table.get(key, [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(f"{where}: key 'signals.{key}': expected a list of strings")
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(
                f"{where}: key 'signals.{key}[{index}]': bad regular expression ({err})"
            ) from None
        if _UPPER.search(pattern):
            raise ConfigError(
                f"{where}: key 'signals.{key}[{index}]': patterns match the lower-cased "
                f"text, so write letters in lower case: {pattern!r}"
            )
    return tuple(patterns)


def parse_signal_config(where: str, table: Any) -> SignalConfig:
    """The `[signals]` table of the profile at `where`, every key checked."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: key 'signals': expected a table")
    known = (*INTS, *FLOATS, *LISTS)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: key 'signals.{unknown[0]}': unknown; expected one of {', '.join(known)}"
        )
    values: dict[str, Any] = {}
    for key, default in INTS.items():
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: key 'signals.{key}': expected a positive integer")
        values[key] = value
    for key, default_float in FLOATS.items():
        number = table.get(key, default_float)
        if isinstance(number, bool) or not isinstance(number, int | float) or abs(number) > 1:
            raise ConfigError(
                f"{where}: key 'signals.{key}': expected a cosine between -1 and 1, got {number!r}"
            )
        values[key] = float(number)
    for key in LISTS:
        values[key] = _patterns(where, key, table)
    return SignalConfig(**values)
