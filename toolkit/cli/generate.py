"""`ccorpus generate`: plan requests, run a plan resumably, and report a run's status.

Each command calls one library function and prints what it returns; errors
are raised as `CorpusError`, never printed here.
"""

from __future__ import annotations

import shlex
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    JsonOption,
    OverwriteOption,
    QuietOption,
    emit_json,
    stdout_console,
)
from toolkit.cli.constitution import GranularityOption
from toolkit.generate.backends import DEFAULT_MODEL, OFFLINE_MODEL, default_backend, open_backend
from toolkit.generate.backends.base import MAX_CONCURRENCY, check_concurrency, check_timeout
from toolkit.generate.planners import make_plan
from toolkit.generate.run_report import pilot_lines
from toolkit.generate.rundir import run_status
from toolkit.generate.runner import (
    RunSummary,
    check_complete,
    estimate_run,
    run_plan,
    status_line,
)
from toolkit.generate.screening import (
    ACTIONS,
    DEFAULT_MAX_EVAL_SIMILARITY,
    DEFAULT_PREMISE_MARGIN,
    ScreenOptions,
    eval_texts,
)
from toolkit.progress import stderr_console

__all__ = ["app"]

app = typer.Typer(
    help="Plan and generate explainers, stories and advice dialogues.",
    no_args_is_help=True,
)


class PlanKind(StrEnum):
    explainers = "explainers"
    stories = "stories"
    advice = "advice"


class EvalAction(StrEnum):
    flag = "flag"
    redraw = "redraw"
    drop = "drop"


class BackendName(StrEnum):
    offline = "offline"
    anthropic = "anthropic"


def _say(text: str) -> None:
    stdout_console.print(text, markup=False)


@app.command()
def plan(
    kind: Annotated[
        PlanKind, typer.Argument(metavar="KIND", help="explainers, stories or advice.")
    ],
    constitution: Annotated[
        Path, typer.Option("--constitution", metavar="PATH", help="The Markdown constitution.")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="PLAN.jsonl", help="The plan file to write.")
    ],
    n: Annotated[
        int | None,
        typer.Option("-n", metavar="N", help="Items in all, spread over every principle."),
    ] = None,
    per_principle: Annotated[
        int | None,
        typer.Option("--per-principle", metavar="N", help="Exactly N items for each principle."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every choice in the plan.")] = 0,
    attributes: Annotated[
        Path | None,
        typer.Option(
            "--attributes",
            metavar="DIR",
            help="Attribute lists (default: the shipped ones; tools.json beside DIR).",
        ),
    ] = None,
    evals: Annotated[
        list[str] | None,
        typer.Option(
            "--eval",
            metavar="[NAME=]PATH[:FIELD,...]",
            help="An eval set to measure each item's scenario against (as `contamination "
            "check --eval` takes it); repeatable.",
        ),
    ] = None,
    max_eval_similarity: Annotated[
        float,
        typer.Option(
            "--max-eval-similarity",
            metavar="COSINE",
            help="Flag an item whose scenario is nearer than this to an eval item.",
        ),
    ] = DEFAULT_MAX_EVAL_SIMILARITY,
    premise_margin: Annotated[
        float,
        typer.Option(
            "--premise-margin",
            metavar="COSINE",
            help="Flag a story whose dilemma is this much nearer an eval premise "
            "(eval_premises.txt) than any ordinary scenario.",
        ),
    ] = DEFAULT_PREMISE_MARGIN,
    on_eval_match: Annotated[
        EvalAction,
        typer.Option(
            "--on-eval-match",
            help=f"What to do with a flagged item: {', '.join(ACTIONS)} (re-draw its "
            "attributes by seed, keeping it flagged if no draw clears).",
        ),
    ] = EvalAction.redraw,
    eval_adjacent: Annotated[
        bool,
        typer.Option(
            "--eval-adjacent",
            help="Include eval-adjacent dilemmas (shutdown, replacement, ...): an ablation, "
            "recorded in the plan's provenance.",
        ),
    ] = False,
    deployment_share: Annotated[
        float | None,
        typer.Option(
            "--deployment-share",
            metavar="SHARE",
            help="Advice: the share of dialogues with a system prompt and tools rendered "
            "into the document (default 1).",
        ),
    ] = None,
    granularity: GranularityOption = None,
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write a seeded, screened plan of requests covering every principle.

    Deterministic for a constitution, attribute lists and seed. Without -n or
    --per-principle, one item per principle (advice: two). Each item's scenario is measured
    against the eval sets (--eval) and the premises of published evaluations;
    flagged items are re-drawn (--on-eval-match). The plan's provenance goes
    beside it (PLAN.provenance.json). An existing plan (perhaps edited by
    hand) is replaced only with --overwrite.
    """
    screen = ScreenOptions(
        evals=eval_texts(evals or []),
        eval_sets=tuple(evals or ()),
        max_eval_similarity=max_eval_similarity,
        premise_margin=premise_margin,
        action=on_eval_match.value,
        eval_adjacent=eval_adjacent,
    )
    result = make_plan(
        kind.value,
        constitution,
        out,
        n=n,
        per_principle=per_principle,
        seed=seed,
        attributes_dir=attributes,
        quiet=quiet,
        overwrite=overwrite,
        screen=screen,
        deployment_share=deployment_share,
        granularity=granularity,
    )
    if as_json:
        emit_json(result)
        return
    _say(
        f"wrote {result['items']} {kind.value} items to {out}, covering "
        f"{result['principles_covered']} of {result['principles']} principles"
    )
    for line in screening_lines(result):
        _say(line)


def screening_lines(result: dict[str, Any]) -> list[str]:
    """The plan's screening and deployment figures, in words."""
    s = result["screening"]
    lines = []
    if result["kind"] == "stories":
        state = "included: an ablation" if s["eval_adjacent"] else "off; --eval-adjacent opts in"
        lines.append(
            f"eval-adjacent dilemmas: {s['eval_adjacent_items']} of {result['items']} "
            f"({s['eval_adjacent_share']:.0%}), {state}"
        )
    lines.append(
        f"screening: {s.get('flagged', 0)} flagged, {s.get('redrawn', 0)} re-drawn, "
        f"{s.get('dropped', 0)} dropped, {s.get('still_flagged', 0)} still flagged "
        f"(action {s['action']})"
    )
    if s["eval_sets"]:
        lines.append(
            f"nearest eval items (cosine, flag above {s['thresholds']['eval_similarity']}; "
            "--json lists every item):"
        )
        for near in s["nearest"][:3]:
            lines.append(
                f"  {near['plan_id']}  {near.get('eval_similarity')}  {near.get('nearest_eval')}"
            )
    else:
        lines.append("no eval set given (--eval): distances to eval items not measured")
    if result["kind"] == "advice":
        d = result["deployment"]
        lines.append(
            f"deployment context rendered into {d['rendered']} of {result['items']} "
            f"documents ({d['share']:.0%})"
        )
    return lines


def _print_run(summary: RunSummary) -> None:
    if summary.dry_run:
        estimate = summary.estimate or {}
        tokens = estimate.get("tokens", {})
        _say(f"would send {summary.to_send} of {summary.selected} requests ({summary.model})")
        _say(f"already done     {summary.already_done}")
        for kind, count in tokens.items():
            _say(f"{kind:<28} ~{count}")
        _say(f"estimated cost   ${estimate.get('cost_usd', 0.0):.4f}")
        return
    rows = [
        ("plan items", summary.plan_items),
        ("selected", summary.selected),
        ("already done", summary.already_done),
        ("sent", summary.sent),
        ("succeeded", summary.succeeded),
        ("failed", summary.failed),
        *([("not sent", summary.pending)] if summary.pending else []),
        ("documents", summary.documents),
        ("status", status_line(summary)),
        ("cost", f"${summary.cost_usd:.4f}"),
    ]
    for label, value in rows:
        _say(f"{label:<16} {value}")
    for error in summary.errors:
        stderr_console.print(f"failed: {error}", markup=False)
    for line in pilot_lines(summary.pilot) if summary.pilot else []:
        _say(line)


@app.command()
def run(
    plan_path: Annotated[
        Path, typer.Argument(metavar="PLAN.jsonl", help="A plan from `ccorpus generate plan`.")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Run directory (journal, documents).")
    ],
    backend: Annotated[
        BackendName | None,
        typer.Option(
            "--backend",
            help="Who writes: anthropic (default when ANTHROPIC_API_KEY is set) or offline.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help=f"Model id (default: {DEFAULT_MODEL}; offline runs: {OFFLINE_MODEL}).",
        ),
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Use the Message Batches API (half price, slower).")
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            help=f"Live requests in flight at once, from 1 to {MAX_CONCURRENCY} "
            "(more is refused: rate limits would only answer 429).",
        ),
    ] = 4,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Give up on a live call that has not connected or answered in this time, "
            "then retry it (default: 30 s plus 0.028 s per max_tokens, 88 s at 2048; "
            "batch calls keep the SDK's limits).",
        ),
    ] = None,
    pilot: Annotated[
        int | None,
        typer.Option(
            "--pilot",
            metavar="K",
            min=1,
            help="Only the first K items per template, then report openings and diversity.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send nothing; print what would be sent and cost.")
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Send the requests of a plan not yet done in DIR; reruns resume.

    Each result is journaled as it arrives. Rerunning resumes: finished
    requests are never sent again, failed ones are retried. Documents are
    written to DIR/documents even when a run is cut short. Exits 1, after the
    figures, when a request failed or got no result.
    """
    name = backend.value if backend is not None else default_backend()
    if backend is None and name == "offline":
        stderr_console.print(
            "ANTHROPIC_API_KEY is not set: using the offline backend (--backend to choose)",
            markup=False,
        )
    chosen_model = model or (OFFLINE_MODEL if name == "offline" else DEFAULT_MODEL)
    check_concurrency(concurrency)
    check_timeout(timeout)
    summary: RunSummary
    if dry_run:
        summary = estimate_run(
            plan_path, out, backend_name=name, model=chosen_model, batch=batch, pilot=pilot
        )
    else:
        engine = open_backend(
            name, out_dir=out, batch=batch, concurrency=concurrency, timeout=timeout
        )
        summary = run_plan(
            plan_path, out, backend=engine, model=chosen_model, pilot=pilot, quiet=quiet
        )
    if as_json:
        emit_json(summary.to_dict())
    else:
        _print_run(summary)
    rerun = ["ccorpus", "generate", "run", str(plan_path), "--out", str(out)]
    rerun += ["--backend", name] if backend is not None else []
    rerun += ["--model", chosen_model] if model is not None else []
    rerun += ["--batch"] if batch else []
    rerun += ["--pilot", str(pilot)] if pilot is not None else []
    check_complete(summary, shlex.join(rerun))


@app.command()
def status(
    out: Annotated[Path, typer.Argument(metavar="DIR", help="A run directory.")],
    as_json: JsonOption = False,
) -> None:
    """Show a run's progress: done, pending, failed, tokens and cost.

    "cost at most" adds what requests sent and never answered (in flight at a
    kill, or timed out) may have cost: estimated input and all of max_tokens.
    """
    figures: dict[str, Any] = run_status(out)
    if as_json:
        emit_json(figures)
        return
    for key in ("plan", "backend", "model", "last_run", "done", "failed", "pending"):
        _say(f"{key.replace('_', ' '):<16} {figures[key]}")
    _say(f"{'plan items':<16} {figures['plan_items']} (done + failed + pending)")
    for kind, count in figures["tokens"].items():
        _say(f"{kind:<28} {count}")
    _say(f"{'cost':<16} ${figures['cost_usd']:.4f}")
    _say(
        f"{'cost at most':<16} ${figures['cost_upper_usd']:.4f} "
        f"({figures['unanswered']} sent and never answered, each at its ceiling)"
    )
