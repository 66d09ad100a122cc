"""Where each stage of a build writes: one folder per stage under the build's `out`.

Stages hand off through these files only, so any stage can be inspected,
rerun or resumed alone, and a later change can run a stage elsewhere.
`stage.json` is a stage's completion marker (`toolkit.io.marker`): its other
outputs count only while it says their run completed.

OUT/build.json                      stage keys and figures of the last build
OUT/principles/                     the constitution's principles as documents (kind external)
OUT/plans/KIND.jsonl                one generation plan per kind
OUT/generate/KIND/                  a generation run dir (journal, ledger, documents/, run.json)
OUT/generated/                      every generated document, all kinds, one corpus
OUT/quality/                        scores.jsonl, summary.json, kept/, rejected/, stage.json
OUT/dedup/                          dedup_report.json and .md, kept/, rejected/, stage.json
OUT/contamination/                  contamination.json, .md, .html; kept/, rejected/; stage.json
OUT/review/review.db                the curators' queue (SQLite)
OUT/review/queue.json               review figures at the last build
OUT/final/                          the documents a mix may draw on, reviews applied
OUT/mix/NAME/                       one built mix: manifest.json, README.md, shards
OUT/NAME/                           a stage added to the build (`stage(name)`)
OUT/report.json, OUT/report.html    the build report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildLayout"]


@dataclass(frozen=True)
class BuildLayout:
    """The paths of one build's outputs under `root`."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "build.json"

    @property
    def principles(self) -> Path:
        return self.root / "principles"

    def plan(self, kind: str) -> Path:
        return self.root / "plans" / f"{kind}.jsonl"

    def generate(self, kind: str) -> Path:
        return self.root / "generate" / kind

    def generated_documents(self, kind: str) -> Path:
        return self.generate(kind) / "documents"

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def quality(self) -> Path:
        return self.root / "quality"

    @property
    def dedup(self) -> Path:
        return self.root / "dedup"

    @property
    def contamination(self) -> Path:
        return self.root / "contamination"

    @property
    def review(self) -> Path:
        return self.root / "review"

    @property
    def review_db(self) -> Path:
        return self.review / "review.db"

    @property
    def review_queue(self) -> Path:
        return self.review / "queue.json"

    @property
    def final(self) -> Path:
        return self.root / "final"

    def mix(self, name: str) -> Path:
        return self.root / "mix" / name

    def stage(self, name: str) -> Path:
        """The folder of a stage the layout does not name otherwise: OUT/NAME."""
        return self.root / name

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def embedding_cache(self) -> Path:
        """One embedding cache for dedup, contamination and the report."""
        return self.root / ".cache" / "embeddings"
