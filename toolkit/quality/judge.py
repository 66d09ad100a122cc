"""An LLM judge: faithfulness to the cited principle, writing quality and reasoning.

Requests go through the generation `Backend` seam, so any backend (or a fake
in tests, or the offline stand-in of `toolkit.quality.judge_offline`) can
judge. The rubric is the versioned template `judge.vN` (v2 adds the
reasoning scale); the verdict must be one JSON object of exactly the
template's shape (`toolkit.quality.judge_verdict`). A reply that is not, or
a failed request, gives a null verdict with the error kept, never a crash
and never a guessed score. Request keys are stable and fit a batch's
`custom_id`, so the same document judged again is the same request.

Requests are built in `toolkit.quality.judge_requests`. A backend that
cannot judge (the offline generation backend, which never reads a prompt) is
refused before anything is read or written; the offline stand-in judge is
accepted. When the judge requests fail the same way or the API is
unreachable, nothing more is sent (`toolkit.generate.early_stop`): the
documents left get a record saying they were not sent.

`judge_corpus` writes the verdicts of a corpus file to `OUT/judge.jsonl`, in
corpus order, and what each request cost to the append-only
`OUT/judge-ledger.jsonl`. Its summary counts requests that got no answer
apart (`failed`): a rerun may judge those, while a malformed reply is an
answer, paid for and kept as an error. `check_judged` fails the run (exit 1)
when a request got no answer, or when no document got a verdict at all,
naming the first error's cause in one line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import CheckFailed, VerdictError
from toolkit.generate.backends.base import Backend, GenerationResult, StopSending
from toolkit.generate.early_stop import EarlyStop, FailureWatch
from toolkit.generate.ledger import CostLedger
from toolkit.generate.templates import load_template
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import read_documents
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress
from toolkit.quality.judge_requests import (
    check_backend,
    is_stand_in,
    judge_request,
    principle_context,
    request_key,
)
from toolkit.quality.judge_verdict import AXES, Verdict, axes_of, parse_verdict

__all__ = [
    "JUDGE_FILE",
    "LEDGER_FILE",
    "JudgeRecord",
    "Verdict",
    "VerdictError",
    "check_backend",
    "check_judged",
    "is_stand_in",
    "judge_corpus",
    "judge_documents",
    "judge_request",
    "parse_verdict",
    "principle_context",
    "request_key",
]

JUDGE_FILE = "judge.jsonl"
LEDGER_FILE = "judge-ledger.jsonl"


@dataclass(frozen=True, slots=True)
class JudgeRecord:
    """One line of `judge.jsonl`: the verdict, or None with the error.

    `failed` (not written) is True when the request itself failed, got no
    result or was not sent, as opposed to a reply that is not a verdict;
    `sent` (not written) is False when the judge stopped early before sending it.
    """

    id: str
    kind: str
    judge: Verdict | None
    error: str | None
    template: str
    backend: str
    model: str
    failed: bool = field(default=False, compare=False)
    sent: bool = field(default=True, compare=False)

    def to_json(self) -> str:
        row = {
            "id": self.id,
            "kind": self.kind,
            "judge": None if self.judge is None else self.judge.to_dict(),
            "error": self.error,
            "template": self.template,
            "backend": self.backend,
            "model": self.model,
        }
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def judge_documents(
    docs: Iterable[Document],
    backend: Backend,
    *,
    constitution: Constitution,
    model: str,
    template_version: str | None = None,
    ledger: CostLedger | None = None,
    chunk: int = 64,
    watch: FailureWatch | None = None,
) -> Iterator[JudgeRecord]:
    """Judge `docs` in chunks of requests; yield one record per document, in order.

    `watch` (a new one by default; pass one to read its `stop` afterwards)
    stops the sending when the requests fail the same way; every document
    left then gets a record with `sent` False.
    """
    check_backend(backend)
    template = load_template("judge", template_version)
    watch = watch if watch is not None else FailureWatch(0)
    results: dict[str, GenerationResult] = {}

    def collect(result: GenerationResult) -> None:
        results[result.key] = result
        if ledger is not None:
            ledger.record(result)
        watch.see(result)  # raises StopSending once, when the judge should stop

    def record(doc: Document, verdict: Verdict | None, error: str | None, **kw: Any) -> JudgeRecord:
        return JudgeRecord(doc.id, doc.kind, verdict, error, template.ref, backend.name, **kw)

    stream = iter(docs)
    batch = list(islice(stream, chunk))
    seen = len(batch)
    while batch:
        ahead = list(islice(stream, chunk))  # read ahead, so the watch knows what is left
        seen += len(ahead)
        watch.total = seen
        requests = [judge_request(doc, template, constitution, model) for doc in batch]
        results.clear()
        sent = ledger.record_sent if ledger is not None else None
        with contextlib.suppress(StopSending):  # the watch holds the cause
            backend.generate(requests, collect, on_sent=sent)
        for doc, request in zip(batch, requests, strict=True):
            result = results.get(request.key)
            verdict, error = None, None
            if result is None and watch.stop is not None:
                yield record(doc, None, _not_sent(watch.stop), model=model, failed=True, sent=False)
                continue
            if result is None:
                error = "the backend returned no result for this request"
            elif not result.ok or result.text is None:
                error = result.error or "the backend returned no text"
            else:
                try:
                    verdict = parse_verdict(result.text, axes_of(template.version))
                except VerdictError as err:
                    error = f"malformed verdict: {err}"
            yield record(
                doc,
                verdict,
                error,
                model=result.model if result is not None else model,
                failed=result is None or not result.ok,
            )
        batch = ahead
        if watch.stop is not None:
            break
    if watch.stop is not None:
        for doc in itertools.chain(batch, stream):
            yield record(doc, None, _not_sent(watch.stop), model=model, failed=True, sent=False)


def _not_sent(stop: EarlyStop) -> str:
    return f"not sent: the judge stopped early ({stop.reason})"


def judge_corpus(
    corpus: str | Path,
    out: str | Path,
    backend: Backend,
    *,
    constitution: Constitution,
    model: str,
    limit: int | None = None,
    template_version: str | None = None,
    quiet: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Judge the first `limit` documents of `corpus` into `out/judge.jsonl`; summarise.

    `errors` counts documents without a verdict; `failed`, those of them whose
    request got no answer (see `check_judged`), `not_sent` among them when the
    judge stopped early, with `failure_cause` saying why, and `first_error` the
    first document's error. Means cover the scales the template rates (a
    judge.v1 run has no reasoning: `mean_reasoning` is None). An existing
    judge.jsonl is refused unless `overwrite`; the cost ledger beside it is added to.
    """
    check_backend(backend)
    out_dir = Path(out)
    refuse_existing([out_dir / JUDGE_FILE], overwrite=overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = CostLedger(out_dir / LEDGER_FILE)
    spent_before = ledger.summary()["cost_usd"]
    docs = islice(read_documents(corpus), limit)
    judged = errors = failed = not_sent = 0
    totals: dict[str, int] = {}
    first_error: str | None = None
    watch = FailureWatch(0)
    with atomic_write(out_dir / JUDGE_FILE) as handle:
        records = judge_documents(
            progress(docs, description="judging", total=limit, quiet=quiet),
            backend,
            constitution=constitution,
            model=model,
            template_version=template_version,
            ledger=ledger,
            watch=watch,
        )
        for record in records:
            handle.write((record.to_json() + "\n").encode())
            if record.judge is None:
                errors += 1
                failed += record.failed
                not_sent += not record.sent
                first_error = first_error or record.error
                continue
            judged += 1
            for axis, score in record.judge.scores().items():
                totals[axis] = totals.get(axis, 0) + score
    means = {
        f"mean_{axis}": round(totals[axis] / judged, 3) if judged and axis in totals else None
        for axis in AXES["v2"]
    }
    return {
        "documents": judged + errors,
        "judged": judged,
        "errors": errors,
        "failed": failed,
        "not_sent": not_sent,
        "failure_cause": None if watch.stop is None else watch.stop.to_dict(),
        "first_error": first_error,
        **means,
        "judge": str(out_dir / JUDGE_FILE),
        "ledger": str(ledger.path),
        "cost_usd": round(ledger.summary()["cost_usd"] - spent_before, 8),
    }


def check_judged(summary: dict[str, Any], rerun: str) -> None:
    """Raise `CheckFailed` (exit 1) when a judge request got no answer, or when no
    document got a verdict at all (every reply malformed, say).

    A rerun of `rerun` sends every document again: verdicts are not resumed.
    When the requests all failed the same way, or the judge stopped early, the
    line names the cause first; when every document failed, the first error's.
    """
    cause = summary.get("failure_cause")
    if summary["failed"] and cause:
        documents, not_sent = summary["documents"], summary["not_sent"]
        raise CheckFailed(
            EarlyStop(**cause).line(
                done=documents - not_sent,
                succeeded=documents - summary["failed"],
                not_sent=not_sent,
                rerun=f"rerun `{rerun}` (every document is sent again)",
                noun="judge request",
            )
        )
    if summary["documents"] and not summary["judged"]:
        first = " ".join(str(summary.get("first_error") or "no reason given").split())
        raise CheckFailed(
            f"every judge request failed ({summary['documents']} of {summary['documents']}); "
            f"the first: {first}; rerun `{rerun}` once its cause is fixed"
        )
    if summary["failed"]:
        raise CheckFailed(
            f"{summary['failed']} of {summary['documents']} judge requests failed; "
            f"rerun `{rerun}` to judge again (every document is sent again)"
        )
