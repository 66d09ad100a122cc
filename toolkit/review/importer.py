"""Bring a corpus (or a stratified sample of it) into a review database.

Idempotent by document id: importing the same corpus twice adds nothing and
leaves every decision and edit in place, so a curator can import a larger
sample later and keep the work already done.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.document import KINDS
from toolkit.errors import InputError
from toolkit.io import read_documents
from toolkit.progress import progress
from toolkit.review.sampling import stratified_sample
from toolkit.review.store import ReviewStore

__all__ = ["import_corpus"]


def import_corpus(
    corpus: str | Path,
    db: str | Path,
    *,
    kinds: Sequence[str] = ("story",),
    sample: int | None = None,
    stratify: Sequence[str] = ("principle", "genre"),
    seed: int = 0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Import documents of `kinds`; with `sample`, a stratified sample of that size.

    Returns figures: documents read, candidates of the chosen kinds, how many
    were sampled, added and already present, and per stratum what was
    available and taken.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise InputError(f"--kinds: {unknown[0]!r} is not one of {', '.join(KINDS)}")
    read = 0
    candidates = []
    for doc in progress(read_documents(corpus), description="reading documents", quiet=quiet):
        read += 1
        if doc.kind in kinds:
            candidates.append(doc)
    strata: dict[tuple[str, ...], tuple[int, int]] = {}
    chosen = candidates
    if sample is not None:
        chosen, strata = stratified_sample(candidates, sample, stratify, seed)
    with ReviewStore.open(db, create=True) as store:
        added, existing = store.add(chosen, source=str(corpus))
        total = store.count()
    return {
        "corpus": str(corpus),
        "db": str(db),
        "read": read,
        "candidates": len(candidates),
        "selected": len(chosen),
        "added": added,
        "already_present": existing,
        "items_in_db": total,
        "sample": sample,
        "stratify": list(stratify) if sample is not None else [],
        "strata": [
            {"stratum": list(key), "available": available, "taken": taken}
            for key, (available, taken) in sorted(strata.items())
        ],
    }
