"""Quality scores as an attribute file beside the corpus: `OUT/scores.jsonl`.

One line per document, in corpus order: `{"id", "kind", "scores",
"profile_version"}`. Scores are kept apart from the text so that thresholds
can be chosen, and chosen again, without recomputing them. The file holds no
timestamps and rounded floats, so the same input gives the same bytes.

`opener_share` compares each document with the rest of its kind, so it is
known only after the last document: each scored batch is kept in a work
folder (`toolkit.quality.score_work`), and the scores file is written from
those at the end with the shares filled in, holding only one opener key per
document in memory. A killed run leaves the folder, and a rerun with the
same inputs and settings scores only the batches it lacks.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.embeddings import prepare_embedder
from toolkit.errors import InputError, RecordError
from toolkit.executor import Executor, LocalExecutor
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import SkipReport, read_documents, require_documents
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress
from toolkit.quality.catalog import Scores
from toolkit.quality.profile import Profile, load_profile
from toolkit.quality.score_work import ScoresWork, scores_key
from toolkit.quality.scorer import OpenerKey, Scorer

__all__ = ["SCORES_FILE", "ScoreRecord", "read_scores", "score_corpus"]

SCORES_FILE = "scores.jsonl"
_COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """The signals of one document, and the profile version that configured them."""

    id: str
    kind: str
    scores: Scores
    profile_version: str

    def to_json(self) -> str:
        row = {
            "id": self.id,
            "kind": self.kind,
            "scores": self.scores,
            "profile_version": self.profile_version,
        }
        return json.dumps(row, **_COMPACT)


def _record(path: Path, lineno: int, line: str) -> ScoreRecord:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise RecordError(str(path), lineno, f"not valid JSON: {err.msg}") from None
    if not isinstance(row, dict):
        raise RecordError(str(path), lineno, "expected a JSON object")
    for key, kind in (("id", str), ("kind", str), ("scores", dict), ("profile_version", str)):
        if not isinstance(row.get(key), kind):
            raise RecordError(str(path), lineno, f"{key}: expected a {kind.__name__}")
    scores: dict[str, Any] = row["scores"]
    for name, value in scores.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise RecordError(str(path), lineno, f"scores.{name}: expected a number or null")
    return ScoreRecord(row["id"], row["kind"], scores, row["profile_version"])


def read_scores(path: str | Path) -> Iterator[ScoreRecord]:
    """Stream the records of a scores file; a malformed line is a `RecordError`."""
    source = Path(path)
    try:
        handle = source.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such scores file") from None
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                yield _record(source, lineno, line)


@dataclass(frozen=True)
class _ScoringJob:
    """What every batch of one scoring run shares; `key` names its scorer in a process."""

    key: str
    profile: Profile
    constitution: Constitution | None
    spacy_model: str | None
    embeddings: bool
    batch_size: int

    def scorer(self) -> Scorer:
        """This run's scorer, built once per process (a Ray worker keeps it between batches)."""
        found = _SCORERS.get(self.key)
        if found is None:
            _SCORERS.clear()  # one run's models at a time
            found = _SCORERS[self.key] = Scorer(
                self.profile,
                spacy_model=self.spacy_model,
                constitution=self.constitution,
                embeddings=self.embeddings,
                batch_size=self.batch_size,
            )
        return found


_SCORERS: dict[str, Scorer] = {}
_Scored = tuple[str, str, Scores, OpenerKey]
_Batch = tuple[int, list[Document]]


def _score_batch(job: _ScoringJob, batch: _Batch) -> tuple[int, list[_Scored]]:
    """One batch's records (id, kind, signals, opener key), with its index: the unit an
    executor runs.

    Batches are cut where `Scorer.score` cuts them, so each document's
    signals are those a single pass over the corpus gives."""
    index, docs = batch
    return index, [(d.id, d.kind, scores, key) for d, scores, key in job.scorer().score(docs)]


class _Unfinished:
    """The corpus's batches, numbered, less those the work folder holds: what to score.

    Counts every batch cut (`total`) and those passed over (`resumed`)."""

    def __init__(self, docs: Iterable[Document], size: int, work: ScoresWork) -> None:
        self.docs, self.size, self.work = docs, size, work
        self.total = self.resumed = 0

    def __iter__(self) -> Iterator[_Batch]:
        stream = iter(self.docs)
        while batch := list(islice(stream, self.size)):
            index = self.total
            self.total += 1
            if self.work.finished(index):
                self.resumed += 1
            else:
                yield index, batch


def _opener_shares(keys: list[OpenerKey], min_docs: int) -> Iterator[float | None]:
    """Per document: the share of its kind opening with the same words."""
    per_kind = Counter(kind for kind, _ in keys)
    shared = Counter(keys)
    for key in keys:
        total = per_kind[key[0]]
        yield round(shared[key] / total, 6) if key[1] and total >= min_docs else None


def score_corpus(
    corpus: str | Path,
    out: str | Path,
    *,
    profile: Profile | None = None,
    constitution: Constitution | None = None,
    spacy_model: str | None = None,
    embeddings: bool = True,
    skip_bad: bool = False,
    allow_empty: bool = False,
    quiet: bool = False,
    batch_size: int = 256,
    overwrite: bool = False,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Score every document of `corpus` into `out/scores.jsonl`; return a summary.

    Batches of `batch_size` documents are scored by `executor` (default: in
    this process), and written in corpus order, so the file is the same
    bytes whichever executor ran. Each batch is kept in `out/.scores-work`
    as it arrives: a rerun after a kill scores only the batches it lacks
    (the summary's `resumed`), unless the corpus or a setting changed
    (`restarted`). An existing scores file is refused unless `overwrite`
    (a killed run's work folder never is); an empty corpus, unless
    `allow_empty`.
    """
    refuse_existing([Path(out) / SCORES_FILE], overwrite=overwrite)
    require_documents(corpus, allow_empty=allow_empty, skip_bad=skip_bad)
    profile = profile or load_profile()
    executor = executor or LocalExecutor()
    key = scores_key(corpus, profile, constitution, spacy_model, embeddings, batch_size)
    job = _ScoringJob(uuid.uuid4().hex, profile, constitution, spacy_model, embeddings, batch_size)
    if executor.in_process:
        job.scorer()  # a missing spaCy pipeline is refused before any bar
        if embeddings and constitution is not None:
            prepare_embedder(quiet=quiet)  # seconds of loading under its own bar
    target = Path(out) / SCORES_FILE
    work = ScoresWork(out, key).open()
    report = SkipReport()
    docs = read_documents(corpus, skip_bad=skip_bad, report=report)
    batches = _Unfinished(progress(docs, description="scoring", quiet=quiet), batch_size, work)
    try:
        for index, scored in executor.map_shards(_score_batch, job, batches):
            lines = [ScoreRecord(*row[:3], profile.version).to_json() for row in scored]
            work.write_batch(index, lines, [row[3] for row in scored])
    finally:
        _SCORERS.pop(job.key, None)
    keys = work.openers(batches.total)
    shares = _opener_shares(keys, profile.signals.opener_min_docs)
    with atomic_write(target) as sink:
        for line, share in zip(work.records(batches.total), shares, strict=True):
            row = json.loads(line)
            row["scores"]["opener_share"] = share
            sink.write((json.dumps(row, **_COMPACT) + "\n").encode())
    work.remove()
    grounding = "off"
    if constitution is not None:
        grounding = "lexical+embedding" if embeddings else "lexical"
    return {
        "documents": len(keys),
        "by_kind": dict(sorted(Counter(kind for kind, _ in keys).items())),
        "scores": str(target),
        "profile": profile.path,
        "profile_version": profile.version,
        "spacy_model": spacy_model or "blank:en+sentencizer",
        "grounding": grounding,
        "skipped_lines": report.to_dict(),
        "batches": batches.total,
        "resumed": batches.resumed,
        "restarted": work.replaced,
    }
