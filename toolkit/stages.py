"""What every filtering stage shares: keep or drop with a reason, and count it.

A stage decides per document; `SplitWriter` writes the kept documents to one
corpus and the dropped ones to another, each dropped document carrying its
reason (and any details, such as what it duplicated) under
`metadata["rejected"]`. Nothing silently disappears, and the per-reason
counters are the stage summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from toolkit.document import Document
from toolkit.io.corpus import CorpusWriter

__all__ = ["Decision", "SplitWriter", "StageSummary"]


@dataclass(frozen=True, slots=True)
class Decision:
    """A stage's verdict on one document: kept when `reason` is None."""

    doc: Document
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        return self.reason is None


@dataclass
class StageSummary:
    """Counts of one stage run: kept, dropped, and dropped per reason."""

    stage: str
    kept: int = 0
    dropped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "kept": self.kept,
            "dropped": self.dropped,
            "reasons": dict(self.reasons.most_common()),
        }


class SplitWriter:
    """Write decisions to `out/kept` and `out/rejected` (atomic shards each)."""

    def __init__(self, out: str | Path, stage: str, *, overwrite: bool = True) -> None:
        self.out = Path(out)
        self.summary = StageSummary(stage)
        self._kept = CorpusWriter(self.out / "kept", overwrite=overwrite)
        self._rejected = CorpusWriter(self.out / "rejected", overwrite=overwrite)

    def write(self, decision: Decision) -> None:
        if decision.kept:
            self._kept.write(decision.doc)
            self.summary.kept += 1
            return
        assert decision.reason is not None
        rejected = {"stage": self.summary.stage, "reason": decision.reason, **decision.details}
        doc = decision.doc
        self._rejected.write(replace(doc, metadata={**doc.metadata, "rejected": rejected}))
        self.summary.dropped += 1
        self.summary.reasons[decision.reason] += 1

    def close(self) -> StageSummary:
        self._kept.close()
        self._rejected.close()
        return self.summary

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.close()
        else:
            self._kept.abort(exc)
            self._rejected.abort(exc)
