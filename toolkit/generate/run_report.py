"""Figures about a run before and after it: the dry-run cost and the pilot report.

A dry run prices what would be sent with the one price table (`pricing`), so
the estimate and the ledger agree on rates. A pilot report shows early
whether the prompts produce varied text: per template, the most frequent
opening 5-grams (a count above 1 is a stock opener) and the diversity, the
mean pairwise cosine distance of the documents' MiniLM embeddings. The
report says what its figures mean (`MEANINGS`), in its JSON and its lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from toolkit.generate.backends.base import GenerationRequest, Usage
from toolkit.generate.journal import Journal
from toolkit.generate.plan import PlanItem
from toolkit.generate.pricing import cost, estimate_usage

__all__ = [
    "MEANINGS",
    "OUTPUT_SHARE",
    "diversity",
    "estimate_cost",
    "opening_ngram",
    "pilot_lines",
    "pilot_report",
]

#: Share of `max_tokens` a dry run assumes each response uses.
OUTPUT_SHARE = 0.75
_WORD = re.compile(r"[\w'\u2019-]+")
#: What a pilot report's figures are, as its JSON and its printed lines say.
MEANINGS = {
    "diversity": (
        "mean pairwise cosine distance between the documents' MiniLM embeddings "
        "(all-MiniLM-L6-v2, their first 256 tokens): 0 = all the same, higher = more "
        "varied; not computed below two documents"
    ),
    "opening_5grams": (
        "the most frequent first five words and how many documents open with them: "
        "a count above 1 is a stock opener"
    ),
}


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


def diversity(texts: Sequence[str], *, quiet: bool = True) -> float | None:
    """Mean pairwise cosine distance of the texts' embeddings; None below two texts.

    Loading the embedding model takes seconds: it draws a bar unless `quiet`.
    """
    if len(texts) < 2:
        return None
    from toolkit.embeddings import embed, prepare_embedder  # loads torch: only when asked

    prepare_embedder(quiet=quiet)
    vectors = embed(texts)
    count = len(texts)
    similarity = float((vectors @ vectors.T).sum() - count) / (count * (count - 1))
    return round(1.0 - similarity, 4)


def pilot_report(
    items: Sequence[PlanItem],
    keys: Sequence[str],
    journal: Journal,
    *,
    per_template: int,
    plan_items: int,
    quiet: bool = True,
) -> dict[str, Any]:
    """What a pilot of the first `per_template` items per template (`items`, of
    a plan of `plan_items`) covered, and per template its documents, the 10 most
    frequent opening 5-grams and the diversity, with `MEANINGS`."""
    index = journal.index()
    texts: dict[str, list[str]] = {}
    for item, key in zip(items, keys, strict=True):
        texts.setdefault(item.template, [])
        entry = index.get(key)
        if entry is not None and entry.ok:
            text = journal.read(entry).get("text")
            if isinstance(text, str):
                texts[item.template].append(text)
    templates: dict[str, Any] = {}
    for template, docs in texts.items():
        openings = Counter(opening_ngram(text) for text in docs)
        templates[template] = {
            "documents": len(docs),
            "opening_5grams": [
                {"ngram": gram, "count": count} for gram, count in openings.most_common(10)
            ],
            "diversity": diversity(docs, quiet=quiet),
        }
    rest = plan_items - len(items)
    return {
        "first_per_template": per_template,
        "pilot_items": len(items),
        "plan_items": plan_items,
        "not_in_pilot": rest,
        "next": f"run without --pilot to send the other {rest} plan items" if rest else "",
        "templates": templates,
        "meanings": MEANINGS,
    }


def pilot_lines(report: dict[str, Any]) -> list[str]:
    """The pilot report as printed lines, each figure with what it means."""
    lines = []
    for template, figures in report["templates"].items():
        value = figures["diversity"]
        shown = "n/a (fewer than two documents)" if value is None else f"{value:.3f}"
        lines.append(f"pilot {template}: {figures['documents']} documents, diversity {shown}")
        if figures["opening_5grams"]:
            lines.append("  most frequent openings (documents, first five words):")
        for entry in figures["opening_5grams"]:
            lines.append(f"  {entry['count']:>4}  {entry['ngram']}")
    if report["templates"]:
        lines.append(f"diversity: {MEANINGS['diversity']}")
        lines.append(f"openings: {MEANINGS['opening_5grams']}")
    return lines
