"""What the review database holds per item, and how it is derived from a `Document`.

The columns a curator filters on (genre, template, quality, duplicate and
contamination flags) are computed once at import from the document's
provenance and optional stage metadata, so the queue never parses JSON.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from toolkit.document import Document

__all__ = [
    "DECISIONS",
    "Edit",
    "Item",
    "ReviewDecision",
    "contamination_flag",
    "duplicate_flag",
    "item_columns",
    "quality_of",
    "template_of",
]

DECISIONS: tuple[str, ...] = ("accepted", "rejected", "needs-edit")


def quality_of(doc: Document) -> float | None:
    """`metadata["quality"]["score"]` when it is a number."""
    quality = doc.metadata.get("quality")
    score = quality.get("score") if isinstance(quality, dict) else None
    if isinstance(score, int | float) and not isinstance(score, bool):
        return float(score)
    return None


def duplicate_flag(doc: Document) -> bool:
    """Dedup metadata present, or the document was dropped as a duplicate."""
    if doc.metadata.get("dedup"):
        return True
    rejected = doc.metadata.get("rejected")
    return isinstance(rejected, dict) and (
        rejected.get("stage") == "dedup" or "duplicate_of" in rejected
    )


def contamination_flag(doc: Document) -> bool:
    """A contamination record that reports at least one hit."""
    value = doc.metadata.get("contamination")
    if isinstance(value, dict):
        if "contaminated" in value:
            return bool(value["contaminated"])
        hits = value.get("hits")
        return bool(hits) if isinstance(hits, list) else bool(value)
    return bool(value)


def template_of(doc: Document) -> str:
    """`story.v1` from provenance template and version; '' for external text."""
    prov = doc.provenance
    if prov.template and prov.template_version:
        return f"{prov.template}.{prov.template_version}"
    return prov.template or ""


def item_columns(doc: Document) -> dict[str, Any]:
    """The `items` row of a freshly imported document (review state excluded)."""
    genre = doc.provenance.seed.get("genre")
    return {
        "doc_id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "original_text": doc.text,
        "current_text": doc.text,
        "principle_ids": json.dumps(list(doc.principle_ids)),
        "genre": genre if isinstance(genre, str) else "",
        "template": template_of(doc),
        "quality": quality_of(doc),
        "duplicate": int(duplicate_flag(doc)),
        "contaminated": int(contamination_flag(doc)),
        "seed": json.dumps(doc.provenance.seed, ensure_ascii=False, default=str),
        "document": json.dumps(doc.to_dict(), ensure_ascii=False, default=str),
    }


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """One curator's recorded verdict on an item; the newest per item is its status.

    Not a stage's keep-or-drop (`toolkit.stages.Decision`): a review decision
    has a reviewer, reasons, notes and the item version it was made on.
    """

    doc_id: str
    status: str
    reasons: tuple[str, ...]
    notes: str
    reviewer: str
    version: int
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ReviewDecision:
        return cls(
            doc_id=row["doc_id"],
            status=row["status"],
            reasons=tuple(json.loads(row["reasons"])),
            notes=row["notes"],
            reviewer=row["reviewer"],
            version=row["version"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class Edit:
    """One saved text version, with the diff from the text it replaced."""

    doc_id: str
    version: int
    diff: str
    reason: str
    reviewer: str
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Edit:
        return cls(
            doc_id=row["doc_id"],
            version=row["version"],
            diff=row["diff"],
            reason=row["reason"],
            reviewer=row["reviewer"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class Item:
    """A review item as stored: the document, its current text and review state."""

    doc_id: str
    position: int
    kind: str
    title: str
    text: str
    original_text: str
    principle_ids: tuple[str, ...]
    genre: str
    template: str
    quality: float | None
    duplicate: bool
    contaminated: bool
    seed: dict[str, Any]
    document: dict[str, Any]
    status: str
    version: int
    updated_at: str

    @property
    def edited(self) -> bool:
        return self.text != self.original_text

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Item:
        return cls(
            doc_id=row["doc_id"],
            position=row["position"],
            kind=row["kind"],
            title=row["title"],
            text=row["current_text"],
            original_text=row["original_text"],
            principle_ids=tuple(json.loads(row["principle_ids"])),
            genre=row["genre"],
            template=row["template"],
            quality=row["quality"],
            duplicate=bool(row["duplicate"]),
            contaminated=bool(row["contaminated"]),
            seed=json.loads(row["seed"]),
            document=json.loads(row["document"]),
            status=row["status"],
            version=row["version"],
            updated_at=row["updated_at"],
        )
