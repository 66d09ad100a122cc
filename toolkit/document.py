"""The one record that flows between every stage: `Document`.

A document's id is a stable hash of its kind and its normalised text, so the
same text generated twice gets the same id and exact duplicates collide by
construction. Provenance says where the text came from; `metadata` is open for
stage annotations that do not change what the document is.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from toolkit.errors import InputError

__all__ = ["KINDS", "Document", "Kind", "Provenance", "document_id", "normalise_text"]

Kind = Literal["explainer", "story", "advice", "external"]
KINDS: tuple[str, ...] = get_args(Kind)

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, ends stripped.

    Case and punctuation are kept: they are part of what a document says.
    """
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def document_id(kind: str, text: str) -> str:
    """Stable id: the first 96 bits of sha256(kind NUL normalised text), in hex."""
    digest = hashlib.sha256(f"{kind}\0{normalise_text(text)}".encode()).hexdigest()
    return digest[:24]


@dataclass(frozen=True, slots=True)
class Provenance:
    """How a document came to be; every field is optional for external text."""

    backend: str | None = None
    model: str | None = None
    template: str | None = None
    template_version: str | None = None
    seed: dict[str, Any] = field(default_factory=dict)
    constitution_version: str | None = None
    created_at: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "provenance") -> Provenance:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        for key, value in data.items():
            if key == "seed":
                if not isinstance(value, dict):
                    raise InputError(f"{where}.seed: expected an object")
            elif value is not None and not isinstance(value, str):
                raise InputError(f"{where}.{key}: expected a string or null")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Document:
    """One corpus record. Build new ones with `Document.create`."""

    id: str
    kind: Kind
    text: str
    title: str = ""
    principle_ids: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        kind: str,
        text: str,
        *,
        title: str = "",
        principle_ids: tuple[str, ...] | list[str] = (),
        provenance: Provenance | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Document:
        """A new document with its id derived from kind and text.

        `created_at` is filled with the current UTC time when the provenance
        does not carry one.
        """
        if kind not in KINDS:
            raise InputError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        prov = provenance or Provenance()
        if prov.created_at is None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            prov = Provenance(**{**prov.to_dict(), "created_at": now})
        return cls(
            id=document_id(kind, text),
            kind=cast(Kind, kind),
            text=text,
            title=title,
            principle_ids=tuple(principle_ids),
            provenance=prov,
            metadata=dict(metadata or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "principle_ids": list(self.principle_ids),
            "provenance": self.provenance.to_dict(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Document:
        """Validate a decoded JSON object; errors name the offending key."""
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON object, got {type(data).__name__}")
        known = {"id", "kind", "title", "text", "principle_ids", "provenance", "metadata"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        for key in ("id", "kind", "text"):
            if key not in data:
                raise InputError(f"missing key {key!r}")
        doc_id, kind, text = data["id"], data["kind"], data["text"]
        if not isinstance(doc_id, str) or not doc_id:
            raise InputError("id: expected a non-empty string")
        if kind not in KINDS:
            raise InputError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(text, str):
            raise InputError("text: expected a string")
        title = data.get("title", "")
        if not isinstance(title, str):
            raise InputError("title: expected a string")
        principle_ids = data.get("principle_ids", [])
        if not isinstance(principle_ids, list) or not all(
            isinstance(p, str) for p in principle_ids
        ):
            raise InputError("principle_ids: expected a list of strings")
        metadata = data.get("metadata", {})
        if not isinstance(metadata, dict):
            raise InputError("metadata: expected an object")
        return cls(
            id=doc_id,
            kind=cast(Kind, kind),
            text=text,
            title=title,
            principle_ids=tuple(principle_ids),
            provenance=Provenance.from_dict(data.get("provenance", {})),
            metadata=metadata,
        )
