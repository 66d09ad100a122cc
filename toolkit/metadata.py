"""The metadata contract: what each stage writes into `Document.metadata`, and who reads it.

`Document.metadata` is open, but the keys below are a contract between
stages, declared here once as data (`CONTRACT`, and `WRITES` / `READS` /
`SHAPES` derived from it) so that a build can check its stage order, and as
TypedDicts so that writers and readers agree on the shape under mypy.
Stage names are the build's stage families (`principles`, `plan`,
`generate`, `quality`, `judge`, `dedup`, `contamination`, `review`, `mix`); each stage
writes the same keys when run alone from the CLI.

- `quality` (QualityMetadata): written by quality on kept and rejected
  documents; read by dedup (keep policy), review (Quality column) and mix
  (`min_quality`).
- `dedup` (DedupMetadata): written by dedup on kept documents that won a
  duplicate cluster; read by review (duplicate flag, duplicates panel).
- `contamination` (ContaminationMetadata): written by contamination, when it
  writes a decontaminated corpus, on kept documents with hits below the gate;
  read by review (flags, hits panel).
- `decontaminated` (DecontaminatedMetadata): written by contamination
  (`cut_spans`) on documents whose gated spans were cut out.
- `rejected` (RejectedMetadata): written by quality, dedup and contamination
  (`toolkit.stages.SplitWriter`) on every dropped document; read by review.
- `review` (ReviewMetadata): written by review (`review export`, and the
  build's `final` step) on documents leaving review; read by dedup (keep
  policy) and mix (`review_status`).
- `plan_id`, `request_key`, `stop_reason`, `system_template`: written by
  generate on every generated document.
- `judge` (JudgeMetadata): written by the judge stage on every judged
  document, kept or rejected; read by review (the Judge panel) and mix
  (`min_quality` on the `judge` component). The judge stage also blends its
  verdict into `quality` (the `judge` component and the score).
- `revision` (RevisionMetadata): written by the judge stage on a revision it
  kept in place of the original (which goes to the judge's rejected corpus
  with reason `revised`); read by review (original and revision with a diff).

Reads that come before the write in build order (dedup reads `review`, which
the build writes only after dedup) are optional: the reader falls back, as
`Read.without` says. A stage adds its key and keeps every other key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

__all__ = [
    "CONTRACT",
    "READS",
    "SHAPES",
    "WRITES",
    "ContaminationHit",
    "ContaminationMetadata",
    "DecontaminatedMetadata",
    "DedupCluster",
    "DedupKeptOver",
    "DedupMetadata",
    "Excerpt",
    "JudgeAttempt",
    "JudgeMetadata",
    "MetadataKey",
    "QualityMetadata",
    "Read",
    "RejectedMetadata",
    "ReviewMetadata",
    "RevisionMetadata",
]


class QualityMetadata(TypedDict):
    """`metadata["quality"]`: the composite score and what it was made from.

    `score` is in [0, 1] (null when the profile defines no score terms, as
    default.v1, or none applies to the kind); `components` holds each
    applicable term's part in [0, 1] by term name; `signals` the non-null
    values of the signals the kind's rules and score terms use; `profile` the
    profile version that defined rules and score (`default.v2`).
    """

    score: float | None
    profile: str
    components: dict[str, float]
    signals: dict[str, int | float]
    profile_score: NotRequired[float | None]


class JudgeAttempt(TypedDict):
    """One revise round on a document: the revision's id, its scores and the outcome
    (`kept`, `not better`, `no change`, `over budget`, `fails quality rule R`, `error: ...`)."""

    round: int
    outcome: str
    id: NotRequired[str]
    scores: NotRequired[dict[str, int]]


class JudgeMetadata(TypedDict):
    """`metadata["judge"]`: the judge's verdict on the text this document carries.

    `scores` and `reasons` by scale (empty, with `error` set, when the judge
    gave no verdict); `below` the scales under their `thresholds`, `passed`
    whether none is; `stand_in` true when the offline stand-in scored it
    rather than a model; `attempts` the revise rounds tried (see JudgeAttempt).
    """

    scores: dict[str, int]
    reasons: dict[str, str]
    error: str | None
    template: str
    backend: str
    model: str
    stand_in: bool
    thresholds: dict[str, int]
    below: list[str]
    passed: bool
    attempts: list[JudgeAttempt]


class RevisionMetadata(TypedDict):
    """`metadata["revision"]` on a revision kept in place of the original.

    `of` is the original (generated) document's id, `previous` the text this
    revision rewrote (the original in round 1), `original_text` the
    original's text (so a reviewer sees both and their diff), `before` and
    `after` the judge's scores of the original and of this revision.
    """

    of: str
    previous: str
    round: int
    template: str
    backend: str
    model: str
    stand_in: bool
    original_text: str
    before: dict[str, int]
    after: dict[str, int]


class DedupCluster(TypedDict):
    """One cluster a document was kept for: `cluster` indexes the report's `clusters`."""

    stage: str
    cluster: int
    size: int
    kept_because: str


class DedupKeptOver(TypedDict):
    """A document dropped as this one's duplicate, with the stage's similarity."""

    id: str
    stage: str
    score: float


class DedupMetadata(TypedDict):
    """`metadata["dedup"]` on a kept document that won at least one cluster.

    `kept_over` lists the documents dropped in its favour directly,
    `duplicates` counts every document it finally stands for (a document
    dropped at an earlier stage for one this one later won over included).
    """

    clusters: list[DedupCluster]
    kept_over: list[DedupKeptOver]
    duplicates: int


class Excerpt(TypedDict):
    before: str
    match: str
    after: str


class ContaminationHit(TypedDict):
    """One eval item found in a document, below the gate."""

    eval: str
    eval_index: int
    eval_id: NotRequired[str]
    stage: str
    score: float
    doc_span: list[int]
    excerpt: Excerpt


class ContaminationMetadata(TypedDict):
    """`metadata["contamination"]` on a kept document with hits below the gate.

    `contaminated` is false (a gated document is rejected, or cut and marked
    `decontaminated`); `hits` holds the strongest hit per eval item,
    strongest first, at most a few (`hits_total` counts them all); `gate` the
    thresholds they stayed below.
    """

    contaminated: bool
    hits: list[ContaminationHit]
    hits_total: int
    gate: dict[str, float | None]


DecontaminatedMetadata = TypedDict(
    "DecontaminatedMetadata",
    {"from": str, "hits": list[dict[str, Any]]},
)
"""`metadata["decontaminated"]`: the id before the gated spans were cut, and those hits."""


class RejectedMetadata(TypedDict):
    """`metadata["rejected"]` on a dropped document: the stage, its reason and details.

    Quality adds signal, value, bound, threshold, profile_version and
    failures; the judge adds scales (those under threshold) and scores, or
    revised_as (the revision kept in its place); dedup adds duplicate_of,
    score, dedup_stage, kept_because and survivor; contamination adds hits.
    """

    stage: str
    reason: str
    signal: NotRequired[str]
    value: NotRequired[float]
    bound: NotRequired[str]
    threshold: NotRequired[float]
    profile_version: NotRequired[str]
    failures: NotRequired[list[dict[str, Any]]]
    scales: NotRequired[list[str]]
    scores: NotRequired[dict[str, int]]
    revised_as: NotRequired[str]
    duplicate_of: NotRequired[str]
    score: NotRequired[float]
    dedup_stage: NotRequired[str]
    kept_because: NotRequired[str]
    survivor: NotRequired[str]
    hits: NotRequired[list[dict[str, Any]]]


class ReviewMetadata(TypedDict):
    """`metadata["review"]`: the curators' verdict on a document that leaves review."""

    status: str
    reviewer: str | None
    reasons: list[str]
    notes: str
    edited: bool
    version: int
    decided_at: str | None


@dataclass(frozen=True, slots=True)
class Read:
    """One stage reading a key: what for, and what it does without the key."""

    stage: str
    uses: str
    without: str


@dataclass(frozen=True, slots=True)
class MetadataKey:
    """One key of the contract: its shape, who writes it on which documents, who reads it."""

    key: str
    shape: Any
    written_by: tuple[str, ...]
    on: str
    reads: tuple[Read, ...] = ()


CONTRACT: tuple[MetadataKey, ...] = (
    MetadataKey("plan_id", str, ("generate",), "generated documents"),
    MetadataKey("request_key", str, ("generate",), "generated documents"),
    MetadataKey("stop_reason", str | None, ("generate",), "generated documents"),
    MetadataKey("system_template", str, ("generate",), "generated documents"),
    MetadataKey(
        "quality",
        QualityMetadata,
        ("quality", "judge"),
        "kept and rejected documents",
        (
            Read("judge", "the judge's part blended into the score", "the judge's part alone"),
            Read("dedup", "keep policy: the highest score wins a cluster", "longest text wins"),
            Read("review", "the queue's Quality column and the item's Quality panel", "shows —"),
            Read("mix", "a source's min_quality", "the document fails min_quality"),
        ),
    ),
    MetadataKey(
        "judge",
        JudgeMetadata,
        ("judge",),
        "judged documents, kept and rejected",
        (
            Read("review", "the item's Judge panel", "no panel"),
            Read("mix", "a source's min_quality on the judge component", "no judge component"),
        ),
    ),
    MetadataKey(
        "revision",
        RevisionMetadata,
        ("judge",),
        "revisions kept in place of their original",
        (Read("review", "the original beside the revision, with a diff", "no panel"),),
    ),
    MetadataKey(
        "dedup",
        DedupMetadata,
        ("dedup",),
        "kept documents that won a duplicate cluster",
        (Read("review", "the duplicate flag and the duplicates panel", "no flag"),),
    ),
    MetadataKey(
        "contamination",
        ContaminationMetadata,
        ("contamination",),
        "kept documents with eval hits below the gate (when decontaminating)",
        (Read("review", "the contamination flag and the hits panel", "no flag"),),
    ),
    MetadataKey(
        "decontaminated",
        DecontaminatedMetadata,
        ("contamination",),
        "kept documents whose gated spans were cut out (cut_spans)",
    ),
    MetadataKey(
        "rejected",
        RejectedMetadata,
        ("quality", "judge", "dedup", "contamination"),
        "rejected documents",
        (Read("review", "the duplicate flag and the 'dropped by a stage' panel", "no flag"),),
    ),
    MetadataKey(
        "review",
        ReviewMetadata,
        ("review",),
        "documents leaving review (export, or the build's final step)",
        (
            Read("dedup", "keep policy: an accepted review wins a cluster", "the next criterion"),
            Read("mix", "a source's review_status", "counts as unreviewed"),
        ),
    ),
)

#: Key -> the stages that write it.
WRITES: dict[str, tuple[str, ...]] = {entry.key: entry.written_by for entry in CONTRACT}
#: Key -> the stages that read it.
READS: dict[str, tuple[str, ...]] = {
    entry.key: tuple(read.stage for read in entry.reads) for entry in CONTRACT
}
#: Key -> its shape (a TypedDict, or a plain type for the generation keys).
SHAPES: dict[str, Any] = {entry.key: entry.shape for entry in CONTRACT}
