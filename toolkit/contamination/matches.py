"""From eval items to match units, and from matches of units to `Hit`s with the gate rule.

The gate fails an item when a unit that stands for the question is copied: its
stem (or the whole item) covered at `gate_ngram` by matched n-grams, or found
reworded (the verifier says so, or the window's cosine reaches
`gate_cosine`). A copied choice or answer is reported, never gated alone: an
answer such as "Nothing happens" is common prose. Units shorter than
`min_tokens` tokens are matched whole, exactly (after normalisation, on token
boundaries) and reported with `short: true`; they gate only with
`gate_short`, since three common words in a row are weak evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from toolkit.contamination.evals import EvalItem
from toolkit.contamination.hits import Hit, excerpt
from toolkit.contamination.judge import JudgeSetup, judge_hits
from toolkit.contamination.ngram import NgramHit, NgramIndex
from toolkit.contamination.semantic import Candidate
from toolkit.contamination.units import GATING_KINDS, Unit, item_units
from toolkit.document import Document

__all__ = [
    "NgramJob",
    "UnitPlan",
    "judged",
    "ngram_hits",
    "ngram_task",
    "plan_units",
    "semantic_hit",
]


@dataclass
class UnitPlan:
    """Every unit of a check and how each is matched.

    `index` holds units of at least `min_tokens` tokens, `short_index` the
    shorter stems and items, matched whole; `semantic` lists the unit that
    stands for each item (its stem, else the whole item), read by the semantic
    stage unless it is short; `too_short` the items whose standing unit is
    under `min_tokens` tokens (matched by n-grams only); `empty` those whose
    standing unit has no token at all.
    """

    units: list[Unit]
    index: NgramIndex
    long: list[int]
    short_index: NgramIndex
    short: list[int]
    semantic: list[int]
    too_short: list[int]
    empty: list[int]


def plan_units(items: Sequence[EvalItem], *, policy: str, n: int, min_tokens: int) -> UnitPlan:
    """Split `items` into units and build their n-gram indexes."""
    units = [
        unit
        for position, item in enumerate(items)
        for unit in item_units(position, item.text, item.parts, policy=policy, min_words=min_tokens)
    ]
    probe = NgramIndex(units, n=n, min_tokens=min_tokens)
    counts = probe.token_counts.tolist()
    # the unit that stands for each item: its stem, else the item itself
    main: dict[int, int] = {}
    for i, unit in enumerate(units):
        if unit.kind == "stem" or (unit.kind == "whole" and unit.item not in main):
            main[unit.item] = i
    long_units = [i for i, c in enumerate(counts) if c >= min_tokens]
    short = [
        i for i, c in enumerate(counts) if 0 < c < min_tokens and units[i].kind in GATING_KINDS
    ]
    return UnitPlan(
        units,
        NgramIndex([units[i] for i in long_units], n=n, min_tokens=min_tokens),
        long_units,
        NgramIndex([units[i] for i in short], n=n, min_tokens=1),
        short,
        [i for _, i in sorted(main.items()) if counts[i] >= min_tokens],
        sorted(item for item, i in main.items() if counts[i] < min_tokens),
        sorted(item for item, i in main.items() if counts[i] == 0),
    )


def ngram_hits(
    plan: UnitPlan,
    items: Sequence[EvalItem],
    docs: list[Document],
    source: str,
    *,
    gate: float,
    gate_short: bool,
) -> list[Hit]:
    """N-gram hits of a batch of documents, both indexes, one per (unit, document)."""
    by_id = {doc.id: doc for doc in docs}
    found: list[Hit] = []
    scans: list[tuple[NgramIndex, list[int], bool]] = [
        (plan.index, plan.long, False),
        (plan.short_index, plan.short, True),
    ]
    for index, where, short in scans:
        if not index.items:
            continue
        for hit in index.scan(docs):
            unit = plan.units[where[hit.item]]
            doc = by_id[hit.doc_id]
            found.append(_hit(hit, unit, items[unit.item], doc, source, short, gate, gate_short))
    return found


@dataclass(frozen=True)
class NgramJob:
    """What every batch's n-gram scan shares: the units' indexes, built once here
    (an executor elsewhere gets them once, not per batch), and the gate."""

    plan: UnitPlan
    items: list[EvalItem]
    gate: float
    gate_short: bool


def ngram_task(job: NgramJob, chunk: tuple[str, list[Document]]) -> list[Hit]:
    """One batch's n-gram hits, `chunk` being (source, documents): the unit an
    executor runs."""
    source, docs = chunk
    return ngram_hits(job.plan, job.items, docs, source, gate=job.gate, gate_short=job.gate_short)


def _hit(
    hit: NgramHit,
    unit: Unit,
    item: EvalItem,
    doc: Document,
    source: str,
    short: bool,
    gate: float,
    gate_short: bool,
) -> Hit:
    start, end = hit.doc_span
    coverage = hit.coverage
    gated = unit.kind in GATING_KINDS and coverage >= gate and (gate_short or not short)
    return Hit(
        hit.doc_id,
        source,
        item.eval,
        item.index,
        "ngram",
        coverage,
        hit.doc_span,
        hit.spans,
        item.text,
        excerpt(doc.text, start, end),
        gated=gated,
        matched=hit.matched,
        total=hit.total,
        extra={"short": True} if short else {},
        unit=unit.kind,
        unit_text=unit.text,
        label=unit.label,
    )


def semantic_hit(
    candidate: Candidate,
    unit: Unit,
    item: EvalItem,
    text: str,
    *,
    probability: float | None,
    verified: bool,
    gated: bool,
) -> Hit:
    """A semantic hit (or a verifier candidate) from a located window."""
    extra: dict[str, object] = {}
    if probability is not None:
        extra = {"verifier": round(probability, 4), "verified": verified}
    return Hit(
        candidate.doc[1],
        candidate.doc[0],
        item.eval,
        item.index,
        "semantic",
        candidate.cosine,
        candidate.span,
        (candidate.span,),
        item.text,
        excerpt(text, *candidate.span),
        gated=gated and unit.kind in GATING_KINDS,
        extra=extra,
        unit=unit.kind,
        unit_text=unit.text,
        label=unit.label,
    )


def judged(
    hits: list[Hit], candidates: list[Hit], judge: JudgeSetup
) -> tuple[list[Hit], dict[str, Any]]:
    """The judge reads the strongest semantic hits and candidates (by the verifier's
    probability, else cosine); a candidate stays only as the judge's copy verdict."""
    marked = [replace(h, extra={**h.extra, "candidate": True}) for h in candidates]
    read, summary = judge_hits([*hits, *marked], judge)
    kept = [h for h in read if not h.extra.get("candidate") or (h.stage == "judge" and h.gated)]
    return [_uncandidate(h) for h in kept], summary


def _uncandidate(hit: Hit) -> Hit:
    if "candidate" not in hit.extra:
        return hit
    return replace(hit, extra={k: v for k, v in hit.extra.items() if k != "candidate"})
