"""Figures about a run before and after it: the dry-run cost and the pilot report.

A dry run prices what would be sent with the one price table (`pricing`), so
the estimate and the ledger agree on rates. A pilot report shows early
whether the prompts produce varied text: the most frequent opening 5-grams
and the mean pairwise cosine distance of the documents' embeddings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from toolkit.generate.backend import GenerationRequest, Usage
from toolkit.generate.journal import Journal
from toolkit.generate.plan import PlanItem
from toolkit.generate.pricing import cost, estimate_usage

__all__ = ["OUTPUT_SHARE", "diversity", "estimate_cost", "opening_ngram", "pilot_report"]

#: Share of `max_tokens` a dry run assumes each response uses.
OUTPUT_SHARE = 0.75
_WORD = re.compile(r"[\w'\u2019-]+")


def estimate_cost(
    requests: Sequence[GenerationRequest], *, model: str, batch: bool, priced: bool = True
) -> dict[str, Any]:
    """Estimated tokens and USD for `requests`.

    The cached system prefix (the constitution) is billed as a cache write the
    first time it appears and as cache reads after that; the rest of the system
    prompt and the user prompt as input; output as `OUTPUT_SHARE` of
    `max_tokens`. Unpriced (offline) requests cost 0.
    """
    total = Usage()
    usd = 0.0
    written: set[tuple[str, ...]] = set()
    for request in requests:
        prefix = tuple(block.text for block in request.system if block.cache)
        usage = estimate_usage(
            request, output_share=OUTPUT_SHARE, cache_written=prefix not in written
        )
        written.add(prefix)
        total = total + usage
        if priced:
            usd += cost(model, usage, batch=batch)
    return {
        "requests": len(requests),
        "tokens": total.to_dict(),
        "cost_usd": round(usd, 6),
        "batch": batch,
    }


def opening_ngram(text: str, n: int = 5) -> str:
    """The first `n` words of `text`, lowercased and joined by spaces."""
    return " ".join(_WORD.findall(text.lower())[:n])


def diversity(texts: Sequence[str]) -> float | None:
    """Mean pairwise cosine distance of the texts' embeddings; None below two texts."""
    if len(texts) < 2:
        return None
    from toolkit.embeddings import embed  # loads torch: only when a pilot asks for it

    vectors = embed(texts)
    count = len(texts)
    similarity = float((vectors @ vectors.T).sum() - count) / (count * (count - 1))
    return round(1.0 - similarity, 4)


def pilot_report(
    items: Sequence[PlanItem], keys: Sequence[str], journal: Journal
) -> dict[str, Any]:
    """Per template: documents, the 10 most frequent opening 5-grams, and diversity."""
    index = journal.index()
    texts: dict[str, list[str]] = {}
    for item, key in zip(items, keys, strict=True):
        texts.setdefault(item.template, [])
        entry = index.get(key)
        if entry is not None and entry.ok:
            text = journal.read(entry).get("text")
            if isinstance(text, str):
                texts[item.template].append(text)
    report: dict[str, Any] = {}
    for template, docs in texts.items():
        openings = Counter(opening_ngram(text) for text in docs)
        report[template] = {
            "documents": len(docs),
            "opening_5grams": [
                {"ngram": gram, "count": count} for gram, count in openings.most_common(10)
            ],
            "diversity": diversity(docs),
        }
    return report
