"""How many tokens each source gives, which documents carry them, and in what order.

Budgets: a source asks for `share x target_tokens` and can give at most
`available x max_epochs`. What happens to a shortfall is the spec's `fill`:

* `none` (default): the short source gives what it can and nothing else
  changes, so the mix is smaller than the target and the other sources' shares
  of it grow; the build says so in a note. Nothing is moved silently.
* `redistribute`: the shortfall is handed to sources with room, in proportion
  to their shares, until the target is met or every source is at its cap.
* `scale`: every budget shrinks by the same factor, so the shares hold exactly
  and the mix is smaller.

Sampling is by whole documents: as many whole passes as fit, then a seeded
partial pass over a shuffled order, stopping where the total is closest to the
budget (so a source lands within half a document of it). The split is a
property of the document id, never of the build, so every copy of a document
lands in the same split and the split of an id never changes as corpora grow.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from toolkit.errors import InputError
from toolkit.mix.select import Candidate
from toolkit.mix.spec import MixSpec

__all__ = ["Occurrence", "allocate", "in_validation", "order", "sample_source"]

_SPLIT_SALT = "ccorpus-mix-validation"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One copy of a document in the mix; `epoch` counts from 0."""

    source: int
    ordinal: int
    epoch: int
    id: str
    tokens: int


def in_validation(doc_id: str, fraction: float) -> bool:
    """Whether `doc_id` is held out: a fixed hash of the id, independent of seed and corpus."""
    digest = hashlib.sha256(f"{_SPLIT_SALT}\0{doc_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < fraction * 2**64


def _fmt(n: float) -> str:
    return f"{round(n):,}"


def allocate(spec: MixSpec, available: list[int]) -> tuple[list[int], list[str]]:
    """Token budget per source under the spec's fill policy, plus notes on every shortfall."""
    requested = [s.share * spec.target_tokens for s in spec.sources]
    capacity = [a * s.max_epochs for a, s in zip(available, spec.sources, strict=True)]
    budgets = [min(r, c) for r, c in zip(requested, capacity, strict=True)]
    short = [i for i, (r, c) in enumerate(zip(requested, capacity, strict=True)) if c < r]
    notes = [
        f"source {spec.sources[i].name}: {_fmt(available[i])} tokens available, at most "
        f"{spec.sources[i].max_epochs:g} epochs = {_fmt(capacity[i])} < "
        f"{_fmt(requested[i])} requested; used {_fmt(capacity[i])}"
        for i in short
    ]
    if not short:
        return [round(b) for b in budgets], notes
    if spec.fill == "scale":
        empty = [spec.sources[i].name for i in short if available[i] == 0]
        if empty:
            raise InputError(
                f"{spec.file}: source {empty[0]} has no documents after filtering; "
                'fill = "scale" would shrink the whole mix to nothing'
            )
        factor = min(capacity[i] / requested[i] for i in short)
        budgets = [r * factor for r in requested]
        notes.append(
            f'fill = "scale": every source scaled by {factor:.4f} so the requested shares '
            f"hold; the mix is about {_fmt(sum(budgets))} of {_fmt(spec.target_tokens)} tokens"
        )
    elif spec.fill == "redistribute":
        budgets = _redistribute(spec, budgets, capacity)
        names = [s.name for i, s in enumerate(spec.sources) if budgets[i] > requested[i] + 0.5]
        notes.append(
            f'fill = "redistribute": the shortfall went to {", ".join(names) or "no source"} '
            f"in proportion to their shares; the mix is about {_fmt(sum(budgets))} of "
            f"{_fmt(spec.target_tokens)} tokens"
        )
    else:
        notes.append(
            f'fill = "none": the shortfall is not redistributed; the mix is about '
            f"{_fmt(sum(budgets))} of {_fmt(spec.target_tokens)} tokens and the other "
            'sources\' shares of it grow (set fill = "redistribute" or "scale" to change this)'
        )
    return [round(b) for b in budgets], notes


def _redistribute(spec: MixSpec, budgets: list[float], capacity: list[float]) -> list[float]:
    """Water-fill the deficit into sources with room, by share, until none is left."""
    budgets = list(budgets)
    for _ in spec.sources:  # each round saturates at least one source or ends the deficit
        deficit = spec.target_tokens - sum(budgets)
        room = [i for i, (b, c) in enumerate(zip(budgets, capacity, strict=True)) if c - b > 1e-9]
        if deficit <= 1e-9 or not room:
            break
        weight = sum(spec.sources[i].share for i in room)
        for i in room:
            budgets[i] = min(capacity[i], budgets[i] + deficit * spec.sources[i].share / weight)
    return budgets


def sample_source(
    candidates: list[Candidate], budget: int, seed: int, name: str
) -> list[Occurrence]:
    """Whole passes, then a seeded partial pass; documents are never cut."""
    total = sum(c.tokens for c in candidates)
    if total == 0 or budget <= 0:
        return []
    passes = math.floor(budget / total)
    rest = budget - passes * total
    chosen = [
        Occurrence(c.source, c.ordinal, epoch, c.id, c.tokens)
        for epoch in range(passes)
        for c in candidates
    ]
    shuffled = list(candidates)
    random.Random(f"{seed}:{name}:partial").shuffle(shuffled)
    taken = 0
    for c in shuffled:
        if taken >= rest or taken + c.tokens - rest > rest - taken:
            break
        chosen.append(Occurrence(c.source, c.ordinal, passes, c.id, c.tokens))
        taken += c.tokens
    return chosen


def order(occurrences: list[Occurrence], fraction: float, seed: int) -> dict[str, list[Occurrence]]:
    """Route each copy to its document's split, then shuffle each split with the seed."""
    splits: dict[str, list[Occurrence]] = {"train": [], "validation": []}
    for occ in occurrences:
        splits["validation" if in_validation(occ.id, fraction) else "train"].append(occ)
    for split, items in splits.items():
        random.Random(f"{seed}:shuffle:{split}").shuffle(items)
    return splits
