"""Stratified sampling for when curators cannot read everything.

Allocation is proportional to stratum size, with at least one item per
stratum when the sample is large enough, so a rare principle or genre is
never left unread; remaining places go one at a time to the stratum furthest
below its proportional share. Which documents fill a stratum's places is a
seeded draw, so the same corpus, sample size and seed give the same sample.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.review.records import template_of

__all__ = ["BUILTIN_KEYS", "allocate", "parse_stratify", "stratified_sample", "stratum_of"]

K = TypeVar("K", bound=Hashable)
BUILTIN_KEYS = ("principle", "template", "kind")


def parse_stratify(spec: str) -> tuple[str, ...]:
    """`principle,genre` -> ('principle', 'genre'); empty names are an error."""
    names = tuple(part.strip() for part in spec.split(",")) if spec.strip() else ()
    if any(not name for name in names):
        raise InputError(f"--stratify: empty name in {spec!r}; expected e.g. principle,genre")
    return names


def _field(doc: Document, name: str) -> str:
    if name == "principle":
        return doc.principle_ids[0] if doc.principle_ids else ""
    if name == "template":
        return template_of(doc)
    if name == "kind":
        return doc.kind
    value = doc.provenance.seed.get(name, "")
    return value if isinstance(value, str) else str(value)


def stratum_of(doc: Document, by: Sequence[str]) -> tuple[str, ...]:
    """The stratum of a document: its value for each name in `by`.

    `principle` is the first principle id (the one the story dramatises);
    other names are `template`, `kind` or a seed attribute such as `genre`.
    """
    return tuple(_field(doc, name) for name in by)


def allocate(sizes: Mapping[K, int], n: int, seed: int = 0) -> dict[K, int]:
    """Places per stratum: sums to min(n, total), never more than a stratum holds.

    With fewer places than strata, the largest strata get one each; strata
    of equal size are ranked by a seeded shuffle, so no key order is favoured.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    keys = sorted(sizes, key=str)
    random.Random(seed).shuffle(keys)
    rank = {key: i for i, key in enumerate(keys)}
    keys = sorted((k for k in keys if sizes[k] > 0), key=lambda k: (-sizes[k], rank[k]))
    if n < len(keys):
        chosen = set(keys[:n])
        return {k: int(k in chosen) for k in sizes}
    given = {k: (1 if sizes[k] > 0 else 0) for k in sizes}
    share = {k: n * sizes[k] / total for k in sizes}
    heap = [(-(share[k] - 1), rank[k], k) for k in keys if sizes[k] > 1]
    heapq.heapify(heap)
    for _ in range(n - len(keys)):
        _, order, key = heapq.heappop(heap)
        given[key] += 1
        if given[key] < sizes[key]:
            heapq.heappush(heap, (-(share[key] - given[key]), order, key))
    return given


def stratified_sample(
    docs: Sequence[Document], n: int, by: Sequence[str], seed: int = 0
) -> tuple[list[Document], dict[tuple[str, ...], tuple[int, int]]]:
    """The sample (in corpus order) and, per stratum, (available, taken)."""
    if n < 0:
        raise InputError(f"--sample: expected a positive number, got {n}")
    for name in by:
        if name not in BUILTIN_KEYS and not any(name in d.provenance.seed for d in docs):
            raise InputError(
                f"--stratify: no document has {name!r}; expected one of "
                f"{', '.join(BUILTIN_KEYS)} or a seed attribute such as genre or setting"
            )
    members: dict[tuple[str, ...], list[int]] = {}
    for index, doc in enumerate(docs):
        members.setdefault(stratum_of(doc, by), []).append(index)
    places = allocate({key: len(group) for key, group in members.items()}, n, seed)
    taken: list[int] = []
    for key, group in members.items():
        rng = random.Random("\0".join((str(seed), *key)))
        taken.extend(rng.sample(group, places[key]))
    report = {key: (len(group), places[key]) for key, group in members.items()}
    return [docs[i] for i in sorted(taken)], report
