"""Write reviewed documents back out as a corpus, edits applied.

The document id is kept even when a curator edited the text, so plans,
reports and mixes that name the document still find it; the review record
travels in `metadata["review"]` and provenance is left as generated.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import write_documents
from toolkit.progress import progress
from toolkit.review.records import Item, ReviewDecision
from toolkit.review.schema import STATUSES
from toolkit.review.store import ReviewStore

__all__ = ["export_reviewed", "reviewed_document"]


def reviewed_document(item: Item, decision: ReviewDecision | None) -> Document:
    """The item's document with its current text and a `review` record."""
    doc = Document.from_dict(item.document)
    review = {
        "status": item.status,
        "reviewer": decision.reviewer if decision else None,
        "reasons": list(decision.reasons) if decision else [],
        "notes": decision.notes if decision else "",
        "edited": item.edited,
        "version": item.version,
        "decided_at": decision.created_at if decision else None,
    }
    return replace(doc, text=item.text, metadata={**doc.metadata, "review": review})


def export_reviewed(
    db: str | Path,
    out: str | Path,
    *,
    status: str = "accepted",
    overwrite: bool = False,
    compress: bool = True,
    quiet: bool = False,
) -> dict[str, Any]:
    """Write every item of `status` to `out` (file or shard directory); return figures."""
    if status not in STATUSES:
        raise InputError(f"--status: {status!r} is not one of {', '.join(STATUSES)}")
    with ReviewStore.open(db) as store:
        items = store.items()
        latest = store.latest_decisions()
    chosen = [item for item in items if item.status == status]
    docs = progress(
        (reviewed_document(item, latest.get(item.doc_id)) for item in chosen),
        description=f"writing {status} documents",
        total=len(chosen),
        quiet=quiet,
    )
    files = write_documents(docs, out, compress=compress, overwrite=overwrite)
    return {
        "db": str(db),
        "out": str(out),
        "status": status,
        "documents": len(chosen),
        "edited": sum(item.edited for item in chosen),
        "files": [str(path) for path in files],
    }
