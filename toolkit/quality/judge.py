"""An optional LLM judge: faithfulness to the cited principle and writing quality.

Requests go through the generation `Backend` seam, so any backend (or a fake
in tests) can judge. The rubric is the versioned template `judge.vN`; the
verdict must be one JSON object of exactly the expected shape. A reply that is
not, or a failed request, gives a null verdict with the error kept, never a
crash and never a guessed score. Verdicts are another attribute file beside
the corpus, `OUT/judge.jsonl`, in corpus order; what each request cost goes to
the append-only `OUT/judge-ledger.jsonl`. The summary counts requests that got
no answer apart (`failed`): a rerun may judge those, while a malformed reply
is an answer, paid for and kept as an error.

A backend that cannot read a prompt (the offline one) is refused before
anything is read or written. When the judge requests fail the same way or the
API is unreachable, nothing more is sent (`toolkit.generate.early_stop`): the
documents left get a record saying they were not sent (`not_sent`), and
`check_judged` names the cause.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import CheckFailed, ConfigError, VerdictError
from toolkit.generate.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    StopSending,
    reads_prompts,
)
from toolkit.generate.early_stop import EarlyStop, FailureWatch
from toolkit.generate.ledger import CostLedger
from toolkit.generate.templates import Template, load_template, render
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import read_documents
from toolkit.io.outputs import refuse_existing
from toolkit.progress import progress

__all__ = [
    "JUDGE_FILE",
    "LEDGER_FILE",
    "JudgeRecord",
    "Verdict",
    "VerdictError",
    "check_backend",
    "check_judged",
    "judge_corpus",
    "judge_documents",
    "parse_verdict",
]

JUDGE_FILE = "judge.jsonl"
LEDGER_FILE = "judge-ledger.jsonl"
_AXES = ("faithfulness", "quality")
_FENCE = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n```$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Two 1-5 ratings, each with the judge's one-sentence reason."""

    faithfulness: int
    faithfulness_reason: str
    quality: int
    quality_reason: str


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
        row = asdict(self)
        del row["failed"], row["sent"]
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def parse_verdict(text: str) -> Verdict:
    """The verdict in `text`: one JSON object, optionally inside one code fence.

    Exactly the keys `faithfulness` and `quality`, each an object with exactly
    an integer `score` from 1 to 5 and a non-empty string `reason`.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced["body"].strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as err:
        raise VerdictError(f"not JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(data, dict) or set(data) != set(_AXES):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise VerdictError(f"expected an object with keys faithfulness and quality, got {found}")
    values: dict[str, Any] = {}
    for axis in _AXES:
        part = data[axis]
        if not isinstance(part, dict) or set(part) != {"score", "reason"}:
            raise VerdictError(f"{axis}: expected an object with keys score and reason")
        score, reason = part["score"], part["reason"]
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise VerdictError(f"{axis}.score: expected an integer from 1 to 5, got {score!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise VerdictError(f"{axis}.reason: expected a non-empty string")
        values[axis] = score
        values[f"{axis}_reason"] = reason.strip()
    return Verdict(**values)


def _principles(doc: Document, constitution: Constitution) -> str:
    if not doc.principle_ids:
        return "(The document cites no principle; judge it against the charter's spirit.)"
    parts = []
    for pid in doc.principle_ids:
        found = constitution.resolve(pid)
        if found is None:
            parts.append(f"### {pid}\n\n(Not found in the constitution.)")
        else:
            title, body = found
            parts.append(f"### {title} ({pid})\n\n{body}")
    return "\n\n".join(parts)


def _request(
    doc: Document, template: Template, constitution: Constitution, model: str
) -> GenerationRequest:
    prompt = render(
        template,
        {
            "kind": doc.kind,
            "title": doc.title or "(untitled)",
            "principles": _principles(doc, constitution),
            "text": doc.text.strip(),
        },
    )
    key = f"{template.ref}:{model}:{doc.id}"
    return GenerationRequest(key=key, model=model, prompt=prompt, max_tokens=400, temperature=0)


def check_backend(backend: Backend) -> None:
    """Refuse a backend that cannot judge: one that never reads a prompt."""
    if not reads_prompts(backend):
        raise ConfigError(
            f"the {backend.name} backend cannot judge: it composes documents from plan items "
            "and never reads a prompt (it is the default when ANTHROPIC_API_KEY is not set); "
            "export ANTHROPIC_API_KEY, or pass --backend anthropic"
        )


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
        requests = [_request(doc, template, constitution, model) for doc in batch]
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
                    verdict = parse_verdict(result.text)
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
    judge stopped early, with `failure_cause` saying why. An existing judge.jsonl is
    refused unless `overwrite`; the cost ledger beside it is added to.
    """
    check_backend(backend)
    out_dir = Path(out)
    refuse_existing([out_dir / JUDGE_FILE], overwrite=overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = CostLedger(out_dir / LEDGER_FILE)
    spent_before = ledger.summary()["cost_usd"]
    docs = islice(read_documents(corpus), limit)
    judged = errors = failed = not_sent = 0
    totals = dict.fromkeys(_AXES, 0)
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
                continue
            judged += 1
            totals["faithfulness"] += record.judge.faithfulness
            totals["quality"] += record.judge.quality
    return {
        "documents": judged + errors,
        "judged": judged,
        "errors": errors,
        "failed": failed,
        "not_sent": not_sent,
        "failure_cause": None if watch.stop is None else watch.stop.to_dict(),
        **{f"mean_{axis}": round(totals[axis] / judged, 3) if judged else None for axis in _AXES},
        "judge": str(out_dir / JUDGE_FILE),
        "ledger": str(ledger.path),
        "cost_usd": round(ledger.summary()["cost_usd"] - spent_before, 8),
    }


def check_judged(summary: dict[str, Any], rerun: str) -> None:
    """Raise `CheckFailed` (exit 1) when a judge request got no answer.

    A rerun of `rerun` sends every document again: verdicts are not resumed.
    When the requests all failed the same way, or the judge stopped early, the
    line names the cause first.
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
    if summary["failed"]:
        raise CheckFailed(
            f"{summary['failed']} of {summary['documents']} judge requests failed; "
            f"rerun `{rerun}` to judge again (every document is sent again)"
        )
