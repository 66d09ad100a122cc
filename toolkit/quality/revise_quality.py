"""A revision passes the quality profile too: score it, give it its own quality record.

A revision is new text, so the signals the quality stage computed for the
original say nothing about it: it is scored again under the same profile
(`Scorer`), gets its own `metadata["quality"]` (composite score included)
and is kept only if it breaks none of its kind's rules. `opener_share`
compares a document with the rest of its kind, which a lone revision has
no view of, so the original's share stands for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.quality.composite import Composite
from toolkit.quality.filter import decide
from toolkit.quality.profile import Profile
from toolkit.quality.scorer import Scorer

__all__ = ["ProfileRecheck"]


class ProfileRecheck:
    """Scores revisions under `profile`; spaCy (and MiniLM) load on the first revision."""

    def __init__(
        self,
        profile: Profile,
        *,
        constitution: Constitution | None,
        spacy_model: str | None = None,
        embeddings: bool = True,
    ) -> None:
        self.profile = profile
        self.composite = Composite(profile)
        self._options: dict[str, Any] = {
            "spacy_model": spacy_model,
            "constitution": constitution,
            "embeddings": embeddings,
        }
        self._scorer: Scorer | None = None

    def __call__(self, docs: Sequence[Document]) -> list[tuple[Document, str | None]]:
        """Each revision with its quality record, and the first rule it breaks (or None)."""
        if not docs:
            return []
        if self._scorer is None:
            self._scorer = Scorer(self.profile, **self._options)
        out = []
        for doc, signals, _ in self._scorer.score(docs):
            quality = doc.metadata.get("quality")
            before = quality.get("signals", {}) if isinstance(quality, dict) else {}
            scores = {**signals, "opener_share": before.get("opener_share")}
            decision = decide(self.composite.annotate(doc, scores), scores, self.profile)
            out.append((decision.doc, decision.reason))
        return out
