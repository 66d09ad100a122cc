"""Bring a corpus (or a stratified sample of it) into a review database.

Idempotent by document id: importing the same corpus twice adds nothing and
leaves every decision and edit in place, so a curator can import a larger
sample later and keep the work already done.

Each document's record (its JSON line) may be at most `max_item_bytes`,
256 KiB by default: the store keeps the text about three times over
(original, current, the whole record), so one runaway 50 MB line would make
a 150 MB database and a page no browser can edit. 256 KiB is some 40,000
words, twenty times the longest story the planners ask for, and even fully
non-ASCII text that size, percent-encoded (3 bytes per byte), still fits the
page's 1 MB request limit when a curator edits it. An oversized document
refuses the whole import, before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from toolkit.document import KINDS, Document
from toolkit.errors import InputError
from toolkit.io import corpus_files, read_documents
from toolkit.progress import progress
from toolkit.review.sampling import stratified_sample
from toolkit.review.store import ReviewStore

__all__ = ["MAX_ITEM_BYTES", "import_corpus", "record_bytes"]

MAX_ITEM_BYTES = 256 * 1024


def record_bytes(doc: Document) -> int:
    """The size of a document's record as UTF-8 JSON, as a corpus line holds it."""
    return len(json.dumps(doc.to_dict(), ensure_ascii=False, separators=(",", ":")).encode())


def _documents(corpus: str | Path) -> Iterator[tuple[Path, Document]]:
    for file in corpus_files(corpus):
        for doc in read_documents(file):
            yield file, doc


def import_corpus(
    corpus: str | Path,
    db: str | Path,
    *,
    kinds: Sequence[str] = ("story",),
    sample: int | None = None,
    stratify: Sequence[str] = ("principle", "genre"),
    seed: int = 0,
    max_item_bytes: int = MAX_ITEM_BYTES,
    quiet: bool = False,
) -> dict[str, Any]:
    """Import documents of `kinds`; with `sample`, a stratified sample of that size.

    A document of `kinds` whose record is over `max_item_bytes` raises an
    `InputError` naming its file and id; nothing is imported then.

    Returns figures: documents read, candidates of the chosen kinds, how many
    were sampled, added and already present, and per stratum what was
    available and taken.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise InputError(f"--kinds: {unknown[0]!r} is not one of {', '.join(KINDS)}")
    if max_item_bytes < 1:
        raise InputError(f"--max-item-bytes: expected a positive number, got {max_item_bytes}")
    read = 0
    candidates = []
    for file, doc in progress(_documents(corpus), description="reading documents", quiet=quiet):
        read += 1
        if doc.kind not in kinds:
            continue
        size = record_bytes(doc)
        if size > max_item_bytes:
            raise InputError(
                f"{file}: document {doc.id} is {size} bytes, over the review import limit of "
                f"{max_item_bytes} bytes per item; leave it out or raise --max-item-bytes"
            )
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
