"""Optional LLM judge of semantic hits: a reworded copy of the eval item, or not.

A cosine cannot tell a reworded copy of an eval question from a passage on
the same theme; a model reading both can. The judge reads the `top` strongest
semantic hits and candidates (by the offline verifier's probability where
there is one, else by cosine: a candidate under every threshold can still
be read) through any generation `Backend`, with the
versioned template `contamination-judge.vN`, and its verdict decides their
gate: a copy gates whatever its cosine, a passage that is not one is cleared.
Each judged pair adds a hit of stage "judge" (score 1.0 for a copy, 0.0 for
not, the reason in `judge_reason`), which carries the gate from then on. A
reply that is not exactly the verdict object, or a failed request, leaves
the hit to the cosine gate and is counted as an error, never guessed.

A failed request (no answer at all) is also counted apart, as `unanswered`:
the report stays whole and conservative, but a hit the judge never read may
be a reworded copy under the cosine gate, so `judge_problem` fails the check
(exit 1) until a rerun has every call answered. A malformed reply is an
answer: at temperature 0 a rerun would most likely repeat it.

A backend that cannot read a prompt (the offline one) is refused. When the
calls fail the same way or the API is unreachable, nothing more is sent
(`toolkit.generate.early_stop`): the summary's `failure_cause` and
`not_sent` say so, and `judge_problem` names the cause.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.contamination.hits import Hit
from toolkit.embeddings import text_hash
from toolkit.errors import ConfigError, JudgementError
from toolkit.generate.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    StopSending,
    Usage,
    reads_prompts,
)
from toolkit.generate.early_stop import EarlyStop, FailureWatch
from toolkit.generate.ledger import CostLedger
from toolkit.generate.pricing import cost
from toolkit.generate.templates import load_template, render
from toolkit.replies import reply_json

__all__ = [
    "JUDGE_BACKENDS",
    "JUDGE_LEDGER",
    "JUDGE_TOP",
    "JudgeSetup",
    "Judgement",
    "JudgementError",
    "judge_hits",
    "judge_line",
    "judge_problem",
    "open_judge",
    "parse_judgement",
    "refuse_judge",
]

#: Semantic hits judged by default: the strongest ones, where a false alarm costs most.
JUDGE_TOP = 20
#: The judge's cost ledger in a report folder.
JUDGE_LEDGER = "judge-ledger.jsonl"
#: Backends that can judge: those that read a prompt.
JUDGE_BACKENDS = ("anthropic",)


@dataclass(frozen=True, slots=True)
class Judgement:
    """Whether the passage is a copy of the item, and the judge's one-sentence reason."""

    copy: bool
    reason: str


def parse_judgement(text: str) -> Judgement:
    """The verdict in `text`: one JSON object (optionally in one code fence) with
    exactly a boolean `copy` and a non-empty string `reason`."""
    data = reply_json(text, JudgementError)
    if not isinstance(data, dict) or set(data) != {"copy", "reason"}:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise JudgementError(f"expected an object with keys copy and reason, got {found}")
    if not isinstance(data["copy"], bool):
        raise JudgementError(f"copy: expected true or false, got {data['copy']!r}")
    if not isinstance(data["reason"], str) or not data["reason"].strip():
        raise JudgementError("reason: expected a non-empty string")
    return Judgement(data["copy"], data["reason"].strip())


@dataclass(frozen=True)
class JudgeSetup:
    """Who judges: a backend and model, how many hits, where costs are recorded."""

    backend: Backend
    model: str
    top: int = JUDGE_TOP
    ledger: CostLedger | None = None
    template_version: str | None = None


def refuse_judge(backend: str, *, semantic: bool) -> None:
    """Refuse a judge that cannot run: a backend that cannot judge, or a check
    without the semantic stage, whose hits the judge reads. The messages name
    the `--judge` option; a corpus config reports them under its `judge` key."""
    if backend not in JUDGE_BACKENDS:
        why = ""
        if backend == "offline":
            why = " (the offline backend composes documents and cannot judge)"
        raise ConfigError(f"--judge: expected {', '.join(JUDGE_BACKENDS)}, got {backend!r}{why}")
    if not semantic:
        raise ConfigError("--judge: reads semantic hits: it cannot run without the semantic check")


def open_judge(
    backend: str,
    *,
    semantic: bool,
    model: str | None = None,
    top: int | None = None,
    ledger: Path | None = None,
    out_dir: Path = Path("."),
) -> JudgeSetup:
    """The judge of a check, for the CLI and a build alike: `backend` (checked by
    `refuse_judge`) with `model` (default: the generation default), the `top`
    strongest semantic hits (default `JUDGE_TOP`), its costs in the `ledger` file."""
    from toolkit.generate.backends import DEFAULT_MODEL, open_backend

    refuse_judge(backend, semantic=semantic)
    return JudgeSetup(
        open_backend(backend, out_dir=out_dir),
        model or DEFAULT_MODEL,
        JUDGE_TOP if top is None else top,
        CostLedger(ledger) if ledger is not None else None,
    )


def _strength(hit: Hit) -> float:
    """How likely a copy: the offline verifier's probability, else the cosine."""
    return float(hit.extra.get("verifier", hit.score))


def _passage(hit: Hit) -> str:
    return hit.excerpt["match"]


def judge_hits(hits: Sequence[Hit], setup: JudgeSetup) -> tuple[list[Hit], dict[str, Any]]:
    """Judge the `top` strongest semantic hits; return every hit (judged semantic
    hits no longer gate by themselves, their judge hits do) and a summary."""
    backend, model, top, ledger = setup.backend, setup.model, setup.top, setup.ledger
    if not reads_prompts(backend):
        raise ConfigError(
            f"the {backend.name} backend cannot judge: it composes documents and never reads "
            "a prompt; judge with the anthropic backend"
        )
    template = load_template("contamination-judge", setup.template_version)
    semantic = [i for i, h in enumerate(hits) if h.stage == "semantic"]
    chosen = sorted(semantic, key=lambda i: (-_strength(hits[i]), hits[i].doc_id))[: max(top, 0)]
    requests = {
        i: GenerationRequest(
            key=(
                f"{template.ref}:{model}:{hits[i].source}:{hits[i].doc_id}:{hits[i].eval}:"
                f"{hits[i].eval_index}:{text_hash(_passage(hits[i]))[:16]}"
            ),
            model=model,
            prompt=render(template, {"passage": _passage(hits[i]), "item": hits[i].item_text}),
            max_tokens=200,
            temperature=0,
        )
        for i in chosen
    }
    results: dict[str, GenerationResult] = {}
    spent = [0.0]
    watch = FailureWatch(len(requests))

    def collect(result: GenerationResult) -> None:
        results[result.key] = result
        if ledger is not None:
            spent[0] += ledger.record(result)
        elif result.mode != "offline" and result.usage != Usage():
            spent[0] += cost(result.model, result.usage, batch=result.mode == "batch")
        watch.see(result)  # raises StopSending once, when the judge should stop

    if requests:
        sent = ledger.record_sent if ledger is not None else None
        with contextlib.suppress(StopSending):  # the watch holds the cause
            backend.generate(list(requests.values()), collect, on_sent=sent)
    out = list(hits)
    judged: list[Hit] = []
    errors: list[dict[str, Any]] = []
    unanswered = 0
    for i, request in requests.items():
        hit, result = hits[i], results.get(request.key)
        unanswered += result is None or not result.ok or result.text is None
        try:
            if result is None and watch.stop is not None:
                raise JudgementError(f"not sent: the judge stopped early ({watch.stop.reason})")
            if result is None:
                raise JudgementError("the backend returned no result for this request")
            if not result.ok or result.text is None:
                raise JudgementError(result.error or "the backend returned no text")
            verdict = parse_judgement(result.text)
        except JudgementError as err:
            where = {"doc_id": hit.doc_id, "eval": hit.eval, "eval_index": hit.eval_index}
            errors.append({**where, "error": str(err)})
            continue
        out[i] = dataclasses.replace(hit, gated=False, extra={**hit.extra, "judged": True})
        judged.append(
            dataclasses.replace(
                hit,
                stage="judge",
                score=1.0 if verdict.copy else 0.0,
                gated=verdict.copy,
                extra={**hit.extra, "cosine": round(hit.score, 4), "judge_reason": verdict.reason},
            )
        )
    summary = {
        "backend": backend.name,
        "model": model,
        "template": template.ref,
        "top": top,
        "asked": len(requests),
        "judged": len(judged),
        "copies": sum(h.gated for h in judged),
        "cleared": sum(not h.gated for h in judged),
        "errors": len(errors),
        "unanswered": unanswered,
        "not_sent": len(requests) - len(results),
        "failure_cause": None if watch.stop is None else watch.stop.to_dict(),
        "failed": errors,
        "cost_usd": round(spent[0], 8),
        "ledger": None if ledger is None else str(ledger.path),
    }
    return out + judged, summary


def judge_line(judge: dict[str, Any]) -> str:
    """One sentence on what the LLM judge decided, for every rendering of the report."""
    return (
        f"LLM judge ({judge['backend']}, {judge['model']}, {judge['template']}): "
        f"{judge['judged']} of the {judge['asked']} strongest semantic hits judged "
        f"(at most {judge['top']}), "
        f"{judge['copies']} copies (gated), {judge['cleared']} cleared, "
        f"{judge['errors']} error(s) left to the cosine gate; cost ${judge['cost_usd']}."
    )


def judge_problem(judge: dict[str, Any] | None) -> str | None:
    """Why the judge's part of a check fails (a call got no answer), or None.

    When the calls all failed the same way, or the judge stopped early, the
    line names the cause first.
    """
    if not judge or not judge.get("unanswered"):
        return None
    cause = judge.get("failure_cause")
    if cause:
        not_sent = judge.get("not_sent", 0)
        return EarlyStop(**cause).line(
            done=judge["asked"] - not_sent,
            succeeded=judge["asked"] - judge["unanswered"],
            not_sent=not_sent,
            rerun="rerun the same command to judge them (their hits were left to the cosine gate)",
            noun="contamination judge call",
        )
    return (
        f"{judge['unanswered']} of {judge['asked']} contamination judge calls failed, "
        "so their hits were left to the cosine gate; rerun the same command to judge them"
    )
