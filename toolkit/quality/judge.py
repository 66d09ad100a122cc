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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.errors import CheckFailed
from toolkit.generate.backend import Backend, GenerationRequest, GenerationResult
from toolkit.generate.ledger import CostLedger
from toolkit.generate.templates import Template, load_template, render
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import read_documents
from toolkit.progress import progress

__all__ = [
    "JUDGE_FILE",
    "LEDGER_FILE",
    "JudgeRecord",
    "Verdict",
    "VerdictError",
    "check_judged",
    "judge_corpus",
    "judge_documents",
    "parse_verdict",
]

JUDGE_FILE = "judge.jsonl"
LEDGER_FILE = "judge-ledger.jsonl"
_AXES = ("faithfulness", "quality")
_FENCE = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n```$", re.DOTALL)


class VerdictError(ValueError):
    """A judge reply that is not the verdict object the rubric asks for."""


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

    `failed` (not written) is True when the request itself failed or got no
    result, as opposed to a reply that is not a verdict (or the offline
    backend's refusal: it cannot judge, however often it is asked).
    """

    id: str
    kind: str
    judge: Verdict | None
    error: str | None
    template: str
    backend: str
    model: str
    failed: bool = field(default=False, compare=False)

    def to_json(self) -> str:
        row = asdict(self)
        del row["failed"]
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
    nodes = {node.id: node for node in constitution.nodes()}
    if not doc.principle_ids:
        return "(The document cites no principle; judge it against the charter's spirit.)"
    parts = []
    for pid in doc.principle_ids:
        node = nodes.get(pid)
        if node is None:
            parts.append(f"### {pid}\n\n(Not found in the constitution.)")
        else:
            body = "\n\n".join(n.body for n in node.walk() if n.body.strip())
            parts.append(f"### {node.title} ({pid})\n\n{body}")
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


def judge_documents(
    docs: Iterable[Document],
    backend: Backend,
    *,
    constitution: Constitution,
    model: str,
    template_version: str | None = None,
    ledger: CostLedger | None = None,
    chunk: int = 64,
) -> Iterator[JudgeRecord]:
    """Judge `docs` in chunks of requests; yield one record per document, in order."""
    template = load_template("judge", template_version)
    results: dict[str, GenerationResult] = {}

    def collect(result: GenerationResult) -> None:
        results[result.key] = result
        if ledger is not None:
            ledger.record(result)

    stream = iter(docs)
    while batch := list(islice(stream, chunk)):
        requests = [_request(doc, template, constitution, model) for doc in batch]
        results.clear()
        sent = ledger.record_sent if ledger is not None else None
        backend.generate(requests, collect, on_sent=sent)
        for doc, request in zip(batch, requests, strict=True):
            result = results.get(request.key)
            verdict, error = None, None
            # The offline backend answers at once and can never judge: no rerun helps it.
            failed = result is None or not (result.ok or result.mode == "offline")
            if result is None:
                error = "the backend returned no result for this request"
            elif not result.ok or result.text is None:
                error = result.error or "the backend returned no text"
            else:
                try:
                    verdict = parse_verdict(result.text)
                except VerdictError as err:
                    error = f"malformed verdict: {err}"
            yield JudgeRecord(
                id=doc.id,
                kind=doc.kind,
                judge=verdict,
                error=error,
                template=template.ref,
                backend=backend.name,
                model=result.model if result is not None else model,
                failed=failed,
            )


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
) -> dict[str, Any]:
    """Judge the first `limit` documents of `corpus` into `out/judge.jsonl`; summarise.

    `errors` counts documents without a verdict; `failed`, those of them whose
    request got no answer (see `check_judged`).
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = CostLedger(out_dir / LEDGER_FILE)
    spent_before = ledger.summary()["cost_usd"]
    docs = islice(read_documents(corpus), limit)
    judged = errors = failed = 0
    totals = dict.fromkeys(_AXES, 0)
    with atomic_write(out_dir / JUDGE_FILE) as handle:
        records = judge_documents(
            progress(docs, description="judging", total=limit, quiet=quiet),
            backend,
            constitution=constitution,
            model=model,
            template_version=template_version,
            ledger=ledger,
        )
        for record in records:
            handle.write((record.to_json() + "\n").encode())
            if record.judge is None:
                errors += 1
                failed += record.failed
                continue
            judged += 1
            totals["faithfulness"] += record.judge.faithfulness
            totals["quality"] += record.judge.quality
    return {
        "documents": judged + errors,
        "judged": judged,
        "errors": errors,
        "failed": failed,
        **{f"mean_{axis}": round(totals[axis] / judged, 3) if judged else None for axis in _AXES},
        "judge": str(out_dir / JUDGE_FILE),
        "ledger": str(ledger.path),
        "cost_usd": round(ledger.summary()["cost_usd"] - spent_before, 8),
    }


def check_judged(summary: dict[str, Any], rerun: str) -> None:
    """Raise `CheckFailed` (exit 1) when a judge request got no answer.

    A rerun of `rerun` sends every document again: verdicts are not resumed.
    """
    if summary["failed"]:
        raise CheckFailed(
            f"{summary['failed']} of {summary['documents']} judge requests failed; "
            f"rerun `{rerun}` to judge again (every document is sent again)"
        )
