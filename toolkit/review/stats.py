"""Review progress, acceptance rates and inter-reviewer agreement.

Agreement is measured only where two different reviewers judged the same
item: each reviewer's latest verdict counts, and with more than two
reviewers the first two to decide are compared. Cohen's kappa corrects the
raw agreement for what two reviewers with those label frequencies would
reach by chance; it is undefined (None) when chance agreement is already 1.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from toolkit.review.records import DECISIONS, Item, ReviewDecision
from toolkit.review.store import ReviewStore

__all__ = ["agreement", "cohen_kappa", "review_stats"]

NONE_LABEL = "(none)"


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters over `pairs` of labels; None when undefined."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in first) / (n * n)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def agreement(decisions: Iterable[ReviewDecision]) -> dict[str, Any]:
    """Percent agreement and kappa over items decided by two different reviewers."""
    latest: dict[str, dict[str, str]] = defaultdict(dict)
    for decision in decisions:  # oldest first: dict order is who decided first
        latest[decision.doc_id][decision.reviewer] = decision.status
    pairs = []
    for verdicts in latest.values():
        if len(verdicts) >= 2:
            first, second = list(verdicts.values())[:2]
            pairs.append((first, second))
    agree = sum(a == b for a, b in pairs)
    kappa = cohen_kappa(pairs)
    return {
        "items": len(pairs),
        "agree": agree,
        "percent": round(100 * agree / len(pairs), 1) if pairs else None,
        "kappa": None if kappa is None else round(kappa, 3),
    }


def _rates(items: Iterable[Item], keys: Any) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        for key in keys(item) or (NONE_LABEL,):
            counts[key][item.status] += 1
    out = {}
    for key in sorted(counts):
        c = counts[key]
        decided = sum(c[s] for s in DECISIONS)
        out[key] = {
            "items": sum(c.values()),
            "decided": decided,
            "accepted": c["accepted"],
            "rate": round(c["accepted"] / decided, 3) if decided else None,
        }
    return out


def review_stats(db: str | Path) -> dict[str, Any]:
    """Every figure of `ccorpus review stats`, as one JSON-ready dict."""
    with ReviewStore.open(db) as store:
        items = store.items()
        progress = store.progress()
        decisions = store.decisions()
        latest = store.latest_decisions()
        edits = Counter(store.edit_counts())
    reviewers: dict[str, Counter[str]] = defaultdict(Counter)
    items_by: dict[str, set[str]] = defaultdict(set)
    for decision in decisions:
        reviewers[decision.reviewer][decision.status] += 1
        items_by[decision.reviewer].add(decision.doc_id)
    reasons = Counter(code for decision in latest.values() for code in decision.reasons)
    total = progress["total"]
    return {
        "db": str(db),
        "progress": {
            **progress,
            "percent": round(100 * progress["decided"] / total, 1) if total else 0.0,
        },
        "edited_items": sum(item.edited for item in items),
        "acceptance": {
            "principle": _rates(items, lambda i: i.principle_ids),
            "genre": _rates(items, lambda i: (i.genre,) if i.genre else ()),
            "template": _rates(items, lambda i: (i.template,) if i.template else ()),
        },
        "reviewers": {
            name: {
                "decisions": sum(counts.values()),
                "items": len(items_by[name]),
                **{status: counts[status] for status in DECISIONS},
                "edits": edits[name],
            }
            for name, counts in sorted(reviewers.items())
        }
        | {
            name: {"decisions": 0, "items": 0, **dict.fromkeys(DECISIONS, 0), "edits": n}
            for name, n in sorted(edits.items())
            if name not in reviewers
        },
        "reasons": dict(reasons.most_common()),
        "agreement": agreement(decisions),
    }
