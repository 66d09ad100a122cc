"""The record of one finding, whichever stage made it: `Hit`.

A hit carries the matched text and a little context, cut from the document
while it is in hand, so reports never need a second read of the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CONTEXT_CHARS", "MATCH_CHARS", "Hit", "Stage", "excerpt"]

Stage = Literal["ngram", "semantic", "judge"]
CONTEXT_CHARS = 160  # characters of context kept each side of a match
MATCH_CHARS = 2000  # longest matched text kept in a report


def excerpt(text: str, start: int, end: int) -> dict[str, str]:
    """The match and its context; long matches keep their two ends."""
    match = text[start:end]
    if len(match) > MATCH_CHARS:
        half = MATCH_CHARS // 2
        match = f"{match[:half]} […] {match[-half:]}"
    return {
        "before": text[max(0, start - CONTEXT_CHARS) : start],
        "match": match,
        "after": text[end : end + CONTEXT_CHARS],
    }


@dataclass(frozen=True, slots=True)
class Hit:
    """An eval item found in a document (or plan prompt).

    `score` is the share of the unit's tokens inside matched n-grams (n-gram
    stage) or the MiniLM cosine of the best window (semantic stage). `spans`
    are every matched region, `doc_span` the one shown. `gated` says whether
    this hit alone exceeds the gate. `unit` names the part of the item found
    (stem, choice, answer or whole; `toolkit.contamination.units`), its text
    in `unit_text` and a choice's letter in `label`.
    """

    doc_id: str
    source: str
    eval: str
    eval_index: int
    stage: Stage
    score: float
    doc_span: tuple[int, int]
    spans: tuple[tuple[int, int], ...]
    item_text: str
    excerpt: dict[str, str]
    gated: bool = False
    matched: int | None = None
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    unit: str = "whole"
    unit_text: str = ""
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "doc_id": self.doc_id,
            "source": self.source,
            "eval": self.eval,
            "eval_index": self.eval_index,
            "stage": self.stage,
            "unit": self.unit,
            "score": round(self.score, 4),
            "gated": self.gated,
            "doc_span": list(self.doc_span),
            "spans": [list(s) for s in self.spans],
        }
        if self.matched is not None:
            data["matched_ngrams"] = self.matched
            data["item_ngrams"] = self.total
        data["doc_text"] = self.excerpt["match"]
        data["context"] = {"before": self.excerpt["before"], "after": self.excerpt["after"]}
        data["item_text"] = self.item_text
        if self.unit != "whole":
            data["unit_text"] = self.unit_text
        if self.label:
            data["choice"] = self.label
        return {**data, **self.extra}
