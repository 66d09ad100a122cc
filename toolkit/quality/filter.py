"""The quality stage: apply a profile's rules to scores, keep or reject each document.

A document is checked against every rule for its kind. It is rejected with
the first rule it fails (profile order) as its reason, and every failure is
listed in the details, so one look at a reject says all that was wrong with
it. A rule whose signal is null for the document (no constitution, or a
signal of another kind) is not applied. Scores come from a scores file when
one is given (nothing is computed: no spaCy, no embeddings), else they are
computed first and written beside the output.

Every document written, kept or rejected, carries `metadata["quality"]`
(`toolkit.metadata.QualityMetadata`): the signals its kind's rules and the
profile's score terms use, each term's part, and the composite `score` in
[0, 1] that `toolkit.quality.composite` defines from the profile.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import ConfigError, InputError
from toolkit.executor import Executor
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import SkipReport, read_documents, require_documents
from toolkit.io.marker import StageMarker
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress
from toolkit.quality.catalog import Score
from toolkit.quality.composite import Composite
from toolkit.quality.profile import Profile, load_profile
from toolkit.quality.scores import SCORES_FILE, ScoreRecord, read_scores, score_corpus
from toolkit.stages import Decision, SplitWriter

__all__ = ["STAGE", "SUMMARY_FILE", "Failure", "decide", "evaluate", "filter_corpus"]

STAGE = "quality"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True, slots=True)
class Failure:
    """One broken rule: the signal's value and the bound it crossed."""

    rule: str
    signal: str
    value: float
    bound: str
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "signal": self.signal,
            "value": self.value,
            "bound": self.bound,
            "threshold": self.threshold,
        }


def evaluate(kind: str, scores: Mapping[str, Score], profile: Profile) -> list[Failure]:
    """Every rule for `kind` that `scores` fail, in profile order.

    A signal missing from `scores` (as opposed to null) means they were made
    under a profile without it: a `ConfigError`, since the verdict would be wrong.
    """
    failures: list[Failure] = []
    for rule in profile.rules_for(kind):
        if rule.signal not in scores:
            raise ConfigError(
                f"scores lack signal {rule.signal!r}, which rule {kind}.{rule.name} of "
                f"{profile.path} needs; score the corpus again with this profile"
            )
        value = scores[rule.signal]
        if value is None:
            continue
        broken = rule.failure(value)
        if broken is not None:
            failures.append(Failure(rule.name, rule.signal, value, broken[0], broken[1]))
    return failures


def decide(doc: Document, scores: Mapping[str, Score], profile: Profile) -> Decision:
    """Keep `doc`, or reject it for its first failure with all failures in the details."""
    failures = evaluate(doc.kind, scores, profile)
    if not failures:
        return Decision(doc)
    first = failures[0]
    details = {
        "signal": first.signal,
        "value": first.value,
        "bound": first.bound,
        "threshold": first.threshold,
        "profile_version": profile.version,
        "failures": [f.to_dict() for f in failures],
    }
    return Decision(doc, reason=first.rule, details=details)


class _Scores:
    """Score records by document id, read in step with the corpus when they match.

    A scores file written for the same corpus is in the same order, so one
    record at a time is read alongside; on the first mismatch the whole file
    is indexed by id instead.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: Iterator[ScoreRecord] | None = read_scores(path)
        self._index: dict[str, ScoreRecord] | None = None
        self.versions: set[str] = set()

    def get(self, doc_id: str) -> ScoreRecord:
        record: ScoreRecord | None = None
        if self._stream is not None:
            record = next(self._stream, None)
            if record is None or record.id != doc_id:
                self._stream = None
                self._index = {r.id: r for r in read_scores(self.path)}
        if self._index is not None:
            record = self._index.get(doc_id)
        if record is None:
            raise InputError(
                f"{self.path}: no scores for document {doc_id}; score this corpus again"
            )
        self.versions.add(record.profile_version)
        return record


def _spread(values: list[float]) -> dict[str, float] | None:
    """Min, quartiles and max of the kept documents' composite scores (None without any)."""
    if not values:
        return None
    ordered = sorted(values)
    at = [ordered[round(q * (len(ordered) - 1))] for q in (0, 0.25, 0.5, 0.75, 1)]
    return dict(zip(("min", "p25", "median", "p75", "max"), at, strict=True))


def filter_corpus(
    corpus: str | Path,
    out: str | Path,
    *,
    profile: Profile | None = None,
    scores: str | Path | None = None,
    constitution: Constitution | None = None,
    spacy_model: str | None = None,
    embeddings: bool = True,
    skip_bad: bool = False,
    allow_empty: bool = False,
    quiet: bool = False,
    overwrite: bool = False,
    executor: Executor | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Split `corpus` into `out/kept` and `out/rejected`; write scores and a summary.

    Scores are computed by `executor` (default: in this process), `batch_size`
    documents a batch; see `score_corpus`.

    kept/, rejected/ and summary.json are written inside a `StageMarker`
    (out/stage.json), the summary last, so a killed run leaves outputs that
    readers refuse rather than a summary of other ones. Earlier outputs
    (scores.jsonl too, unless it is the `scores` given) are refused unless
    `overwrite`; an empty corpus, unless `allow_empty`.
    """
    profile = profile or load_profile()
    out_dir = Path(out)
    target = out_dir / SCORES_FILE
    if scores is not None and not Path(scores).is_file():
        raise InputError(f"{scores}: no such scores file")
    outputs = [out_dir / "kept", out_dir / "rejected", out_dir / SUMMARY_FILE]
    rewritten = scores is None or Path(scores).resolve() != target.resolve()
    refuse_existing([*outputs, *([target] if rewritten else [])], overwrite=overwrite)
    require_documents(corpus, allow_empty=allow_empty, skip_bad=skip_bad)
    marker = StageMarker(out_dir, STAGE, outputs)
    marker.begin()
    if scores is None:
        score_corpus(
            corpus,
            out_dir,
            profile=profile,
            constitution=constitution,
            spacy_model=spacy_model,
            embeddings=embeddings,
            skip_bad=skip_bad,
            allow_empty=True,
            quiet=quiet,
            overwrite=True,
            executor=executor,
            batch_size=batch_size,
        )
        source = target
    else:
        source = Path(scores)
        if source.resolve() != target.resolve():
            out_dir.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as src, atomic_write(target) as dst:
                shutil.copyfileobj(src, dst)
    lookup = _Scores(source)
    composite = Composite(profile)
    failures: Counter[str] = Counter()
    kept_scores: list[float] = []
    report = SkipReport()
    docs = read_documents(corpus, skip_bad=skip_bad, report=report)
    with SplitWriter(out_dir, STAGE) as writer:
        for doc in progress(docs, description="filtering", quiet=quiet):
            signals = lookup.get(doc.id).scores
            decision = decide(composite.annotate(doc, signals), signals, profile)
            for failure in decision.details.get("failures", ()):
                failures[failure["rule"]] += 1
            score = decision.doc.metadata["quality"]["score"]
            if decision.kept and score is not None:
                kept_scores.append(score)
            writer.write(decision)
    summary: dict[str, Any] = {
        **writer.summary.to_dict(),
        "documents": writer.summary.kept + writer.summary.dropped,
        "rule_failures": dict(sorted(failures.items(), key=lambda item: (-item[1], item[0]))),
        "profile": profile.path,
        "profile_version": profile.version,
        "score_terms": [term.name for term in profile.score],
        "kept_score": _spread(kept_scores),
        "scores": str(source),
        "scores_computed": scores is None,
        "scores_profile_versions": sorted(lookup.versions),
        "skipped_lines": report.to_dict(),
    }
    with atomic_write(out_dir / SUMMARY_FILE) as handle:
        handle.write((json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    marker.complete()
    return summary
