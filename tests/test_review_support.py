"""Builders shared by the review tests (no tests here): stories, corpora, databases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.document import Document, Provenance
from toolkit.io import write_documents
from toolkit.review import ReviewStore, import_corpus

CONSTITUTION = """# Sample

## Honesty

### Truthfulness

The assistant only sincerely asserts what it *believes* to be true.

### Calibration

The assistant states its uncertainty plainly.
"""

REASONS = {
    "off-principle": "does not dramatise the principle",
    "preachy": "lectures instead of living the principle",
    "incoherent": "broken prose",
}

XSS_TEXT = (
    "The robot read the note aloud: <script>alert('xss')</script> and then "
    '<img src=x onerror="alert(2)"> <b>bold?</b> & nothing happened.\n'
)


def story(
    text: str,
    *,
    principle: str = "honesty/truthfulness",
    genre: str = "mystery",
    title: str = "",
    metadata: dict[str, Any] | None = None,
    source: str | None = None,
) -> Document:
    """A story document with the seed attributes and provenance generation writes."""
    return Document.create(
        "story",
        text,
        title=title or f"{principle}: {genre}",
        principle_ids=[principle],
        provenance=Provenance(
            backend="offline",
            model="offline",
            template="story",
            template_version="v1",
            seed={"genre": genre, "setting": "a night shift at a data centre", "role": "ops bot"},
            source=source,
        ),
        metadata=metadata or {},
    )


def stories(n: int, **kwargs: Any) -> list[Document]:
    return [story(f"Story number {i}.\nThe AI explained why.\n", **kwargs) for i in range(n)]


def write_corpus(docs: Sequence[Document], path: Path) -> Path:
    write_documents(docs, path, compress=False)
    return path


def make_db(tmp_path: Path, docs: Sequence[Document]) -> Path:
    """A review database holding `docs`, imported through the library."""
    corpus = write_corpus(docs, tmp_path / "corpus.jsonl")
    db = tmp_path / "review.db"
    import_corpus(corpus, db, kinds=("story", "external"))
    return db


def form_tokens(html: str) -> tuple[str, int]:
    """The CSRF token and item version a page embeds in its forms."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    version = re.search(r'name="version" value="(\d+)"', html)
    assert csrf is not None
    return csrf.group(1), int(version.group(1)) if version else 0


def status_of(db: Path, doc_id: str) -> str:
    with ReviewStore.open(db) as store:
        return store.get(doc_id).status
