"""Judge, critique and revise a corpus: the judge stage's one library call.

Each document of the judged kinds (all, or a stratified sample) is judged on
faithfulness, quality and reasoning. One under a threshold is rewritten with
the judge's reasons (`toolkit.quality.revise`), for up to `revise_rounds`
rounds while the revision budget allows; each revision passes the quality
profile again when a `recheck` is given, is judged again, and is kept only
if better on every scale (`is_better`). Then the gate: what is still under
a threshold is rejected (or, with `gate = false`, kept with its verdict).

Outputs, in `out`: `kept/` (revisions in place of their originals, with
`metadata["revision"]`), `rejected/` (every original a revision replaced,
reason `revised`, and what the gate dropped, reason `low_SCALE`), both with
`metadata["judge"]`; `verdicts.jsonl` (one row per judged document: scores
before and after, attempts); `summary.json`. Every answer goes to
`journal.jsonl` and `ledger.jsonl` as it arrives and is reused on a rerun
(`toolkit.quality.judge_asker`): a killed run resumes without paying twice.
A request that got no answer fails the run (exit 1) after the rest is done,
as does a run in which no document got a verdict; the line names the first
cause, and a rerun sends only what is missing.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.generate.backends.base import Backend
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import read_documents
from toolkit.io.marker import StageMarker
from toolkit.progress import progress
from toolkit.quality.judge_config import JudgeSettings
from toolkit.quality.judge_requests import check_backend
from toolkit.quality.judge_sample import sample_ids
from toolkit.quality.judge_tally import Tally, check_run, verdict_row
from toolkit.quality.revise_rounds import JOURNAL_FILE, LEDGER_FILE, Case, Critic, Recheck
from toolkit.stages import Decision, SplitWriter

__all__ = ["JOURNAL_FILE", "LEDGER_FILE", "SUMMARY_FILE", "VERDICTS_FILE", "critique_corpus"]

STAGE = "judge"
SUMMARY_FILE = "summary.json"
VERDICTS_FILE = "verdicts.jsonl"


def critique_corpus(
    corpus: str | Path,
    out: str | Path,
    backend: Backend,
    *,
    constitution: Constitution,
    settings: JudgeSettings,
    model: str,
    recheck: Recheck | None = None,
    chunk: int = 5000,
    quiet: bool = False,
) -> dict[str, Any]:
    """Judge, revise and gate `corpus` into `out` (see the module docstring); the summary.

    Raises `CheckFailed` when a request got no answer or no document got a
    verdict, after writing what it could (the marker stays incomplete).
    """
    check_backend(backend)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = Critic(backend, out_dir, constitution, settings, model, recheck)
    chosen = sample_ids(corpus, settings)
    outputs = [out_dir / "kept", out_dir / "rejected", out_dir / VERDICTS_FILE]
    marker = StageMarker(out_dir, STAGE, [*outputs, out_dir / SUMMARY_FILE])
    marker.begin()
    tally = Tally()
    docs = progress(read_documents(corpus), description="judging", quiet=quiet)
    with SplitWriter(out_dir, STAGE) as writer, atomic_write(out_dir / VERDICTS_FILE) as rows:
        while batch := list(islice(docs, chunk)):
            wanted = {  # one case per id: a text twice is judged once (dedup comes later)
                d.id: d
                for d in batch
                if d.kind in settings.kinds and (chosen is None or d.id in chosen)
            }
            cases = {d.id: Case(d, d) for d in wanted.values()}
            for first, (verdict, error) in zip(
                cases.values(), run.judge(list(wanted.values())), strict=True
            ):
                first.verdict = first.before = verdict
                first.error = error
            for round_ in range(1, settings.revise_rounds + 1):
                run.revise(list(cases.values()), round_)
            for doc in batch:
                found = cases.get(doc.id)
                if found is None:
                    writer.write(Decision(doc))
                    tally.unjudged += 1
                    continue
                for decision in run.decisions(found):
                    writer.write(decision)
                judged = decision.doc.metadata["judge"]
                rows.write(
                    (json.dumps(verdict_row(found, judged), ensure_ascii=False) + "\n").encode()
                )
                tally.add(found, judged)
    summary = tally.summary(run, writer.summary.to_dict())
    with atomic_write(out_dir / SUMMARY_FILE) as handle:
        handle.write((json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    check_run(run, summary)
    marker.complete()
    return summary
