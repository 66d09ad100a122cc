"""The one price table, so `--dry-run` estimates and the cost ledger agree.

USD per million tokens: base input, output, 5-minute cache write and cache
read. Batch requests cost half of every rate (the discounts stack). A model
missing here is refused with `ConfigError` rather than priced at zero, so a
run never spends money it cannot account for.

Sources (looked up 2026-11-23): platform.claude.com/docs/en/about-claude/pricing
and the per-model overview pages (models/<name>/overview). Fable 5.2 (released
2026-11-09), Haiku 5.5 and the Sonnet 5.5 cache-read cut of 2026-10-07 come
from provider changelogs that quote the pricing page; Mythos models share the
Fable rates, as the pricing page states. Re-check these before relying on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from toolkit.errors import ConfigError
from toolkit.generate.backends.base import GenerationRequest, Usage

__all__ = ["PRICES", "Price", "cost", "estimate_tokens", "estimate_usage", "price_for"]

_MTOK = 1_000_000
_DATED = re.compile(r"-(?:\d{8}|latest)$")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens of each kind.

    `long_prompt` holds the rates for every token of a request whose prompt
    (input + cache reads + cache writes) exceeds `long_prompt_tokens`.
    """

    input: float
    output: float
    cache_write: float
    cache_read: float
    long_prompt: Price | None = None
    long_prompt_tokens: int = 0

    def of(self, usage: Usage) -> float:
        """The undiscounted USD cost of `usage` at these rates."""
        prompt = usage.input_tokens + usage.cache_read_input_tokens
        prompt += usage.cache_creation_input_tokens
        if self.long_prompt is not None and prompt > self.long_prompt_tokens:
            return self.long_prompt.of(usage)
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / _MTOK


def _rates(input: float, output: float, *, read: float = 0.1) -> Price:
    """Cache writes cost 1.25x input; reads `read` x input (0.1x for most models)."""
    return Price(input, output, round(input * 1.25, 6), round(input * read, 6))


_FABLE_5 = _rates(10.0, 50.0)
_FABLE_5_1 = _rates(10.0, 50.0, read=0.025)
_FABLE_5_2 = _rates(8.0, 40.0, read=0.025)
_OPUS_4_5 = _rates(5.0, 25.0)
_OPUS_4 = _rates(15.0, 75.0)
_SONNET = _rates(3.0, 15.0)
_HAIKU_5_5 = Price(
    0.10, 0.50, 0.125, 0.01, long_prompt=Price(0.50, 2.50, 0.625, 0.05), long_prompt_tokens=100_000
)

PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "claude-fable-5-2": _FABLE_5_2,
        "claude-mythos-5-2": _FABLE_5_2,
        "claude-fable-5-1": _FABLE_5_1,
        "claude-mythos-5-1": _FABLE_5_1,
        "claude-fable-5": _FABLE_5,
        "claude-mythos-5": _FABLE_5,
        "claude-opus-5-5": _rates(4.0, 20.0, read=0.05),
        "claude-opus-5": _OPUS_4_5,
        "claude-sonnet-5-5": _rates(2.0, 10.0, read=0.05),
        "claude-sonnet-5": _rates(2.0, 10.0),
        "claude-haiku-5-5": _HAIKU_5_5,
        "claude-opus-4-8": _OPUS_4_5,
        "claude-opus-4-7": _OPUS_4_5,
        "claude-opus-4-6": _OPUS_4_5,
        "claude-opus-4-5": _OPUS_4_5,
        "claude-opus-4-1": _OPUS_4,
        "claude-opus-4-0": _OPUS_4,
        "claude-sonnet-4-6": _SONNET,
        "claude-sonnet-4-5": _SONNET,
        "claude-sonnet-4-0": _SONNET,
        "claude-3-7-sonnet": _SONNET,
        "claude-haiku-4-5": _rates(1.0, 5.0),
        "claude-3-5-haiku": _rates(0.80, 4.0),
        "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03),
    }
)

# Other spellings of a table entry, after any `-YYYYMMDD` / `-latest` suffix is removed.
_ALIASES = {
    "claude-opus-4": "claude-opus-4-0",
    "claude-4-opus": "claude-opus-4-0",
    "claude-sonnet-4": "claude-sonnet-4-0",
    "claude-4-sonnet": "claude-sonnet-4-0",
}


def price_for(model: str) -> Price:
    """The rates of `model`: an exact id, an alias, or a dated id of a known model."""
    if model in PRICES:
        return PRICES[model]
    base = _DATED.sub("", model)
    base = _ALIASES.get(base, base)
    if base in PRICES:
        return PRICES[base]
    known = ", ".join(sorted(PRICES))
    raise ConfigError(f"no price for model {model!r}; known models: {known}")


def cost(model: str, usage: Usage, *, batch: bool) -> float:
    """USD cost of one request's `usage`; the Batches API bills half of every rate."""
    amount = price_for(model).of(usage)
    return amount * 0.5 if batch else amount


def estimate_tokens(text: str) -> int:
    """A rough token count (about 4 characters a token) for `--dry-run` estimates only.

    Real counts depend on the model's tokenizer; the ledger records the API's own.
    """
    return (len(text) + 3) // 4


def estimate_usage(
    request: GenerationRequest, *, output_share: float = 1.0, cache_written: bool = True
) -> Usage:
    """Estimated usage of `request`, from `estimate_tokens` of its text.

    The cached system blocks count as a cache write (`cache_written`) or a
    cache read; the other blocks and the prompt as input; output as
    `output_share` of `max_tokens`. With the defaults it is the most the
    request can cost, as far as the estimate of its input goes.
    """
    cached = sum(estimate_tokens(b.text) for b in request.system if b.cache)
    plain = sum(estimate_tokens(b.text) for b in request.system if not b.cache)
    return Usage(
        input_tokens=plain + estimate_tokens(request.prompt),
        output_tokens=int(request.max_tokens * output_share),
        cache_creation_input_tokens=cached if cache_written else 0,
        cache_read_input_tokens=0 if cache_written else cached,
    )
