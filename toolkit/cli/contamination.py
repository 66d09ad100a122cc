"""`ccorpus contamination`: check a corpus (and plans) against eval sets, gate on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    AllowEmptyOption,
    ExecutorOption,
    JsonOption,
    OverwriteOption,
    QuietOption,
    RayAddressOption,
    VerboseOption,
    default_of,
    emit_json,
    opened_executor,
    stdout_console,
)
from toolkit.contamination.check import CheckOptions
from toolkit.contamination.judge import (
    JUDGE_LEDGER,
    JudgeSetup,
    judge_line,
    judge_problem,
    open_judge,
)
from toolkit.contamination.report import gate_or_raise
from toolkit.contamination.run import run_check
from toolkit.embeddings import default_cache_dir
from toolkit.errors import CheckFailed, ConfigError

app = typer.Typer(help="Find eval items in a corpus before training on it.", no_args_is_help=True)


@app.callback()
def contamination() -> None:
    """Find eval items in a corpus before training on it."""


def _default(name: str) -> Any:
    return default_of(CheckOptions, name)


_STAGE_NAMES = {"ngram": "n-gram", "semantic": "semantic", "judge": "judge"}


def _hits_text(hits: dict[str, int]) -> str:
    """Hits per stage in words: "41 n-gram, 3 semantic, 2 judge", or "none"."""
    shown = [f"{n} {_STAGE_NAMES.get(stage, stage)}" for stage, n in hits.items() if n]
    return ", ".join(shown) or "none"


def _print(report: dict[str, Any], verbose: bool) -> None:
    summary = report["summary"]
    stdout_console.print(
        f"{summary['documents']} documents, {sum(summary['plans'].values())} plan prompts; "
        f"hits: {_hits_text(summary['hits'])}",
        markup=False,
    )
    width = max([4, *map(len, summary["evals"])])
    stdout_console.print(
        f"{'eval':<{width}} {'items':>6} {'short':>6} {'hits':>6} {'failing':>8} "
        f"{'p50':>6} {'p90':>6} {'p99':>6} {'max':>6}",
        markup=False,
    )
    for name, row in summary["evals"].items():
        dist = report["distance"].get(name, {})
        figures = " ".join(f"{dist.get(k, '-'):>6}" for k in ("p50", "p90", "p99", "max"))
        stdout_console.print(
            f"{name:<{width}} {row['items']:>6} {row['too_short']:>6} {row['items_with_hits']:>6} "
            f"{row['failing_items']:>8} {figures}",
            markup=False,
        )
    if "decontamination" in report:
        dec = report["decontamination"]
        more = "" if verbose or not dec["documents"] else " (--verbose lists each)"
        stdout_console.print(
            f"decontaminated into {dec['out']}: kept {dec['kept']}, rejected {dec['dropped']}, "
            f"cut {dec['cut']}{more}",
            markup=False,
        )
        for entry in dec["documents"] if verbose else ():
            stdout_console.print(
                f"  {entry['action']} {entry['doc_id']}: {entry['reason']}", markup=False
            )
    for path in summary.get("files", []):
        stdout_console.print(f"report: {path}", markup=False)
    if summary.get("judge"):
        stdout_console.print(judge_line(summary["judge"]), markup=False)
    gate = summary["gate"]
    verdict = "passed" if gate["passed"] else f"FAILED ({gate['failing_items']} item(s))"
    stdout_console.print(f"gate {verdict}", markup=False)


@app.command()
def check(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS", help="A .jsonl or .jsonl.zst file, or a directory of shards."
        ),
    ],
    evals: Annotated[
        list[str],
        typer.Option(
            "--eval",
            metavar="[NAME=]PATH[:FIELD,...]",
            help="An eval set (.jsonl, .json, .csv, .tsv, .parquet, a folder of .txt/.md, or a "
            "saved Hugging Face dataset) and its text field(s), each optionally ROLE=FIELD "
            "(stem, choice, answer); repeatable.",
        ),
    ],
    ngram: Annotated[int, typer.Option("--ngram", help="N-gram size in tokens.")] = _default(
        "ngram"
    ),
    semantic_threshold: Annotated[
        float, typer.Option("--semantic-threshold", help="Report windows at this cosine or above.")
    ] = _default("semantic_threshold"),
    gate_ngram: Annotated[
        float,
        typer.Option(
            "--gate-ngram",
            help="Fail when this share of a stem's (or item's) tokens is in matched n-grams.",
        ),
    ] = _default("gate_ngram"),
    gate_cosine: Annotated[
        float,
        typer.Option("--gate-cosine", help="Fail when a stem's window reaches this cosine."),
    ] = _default("gate_cosine"),
    top_k: Annotated[
        int, typer.Option("--top-k", help="Nearest documents per eval item searched by window.")
    ] = _default("top_k"),
    retrieval: Annotated[
        str,
        typer.Option(
            "--retrieval",
            help="Who picks each item's nearest documents: static (model2vec, fast) or minilm.",
        ),
    ] = _default("retrieval"),
    units: Annotated[
        str,
        typer.Option(
            "--units",
            help="Parts of each eval item matched: all (stem, choices, answer, whole), "
            "stem (stem and whole) or whole.",
        ),
    ] = _default("units"),
    verifier: Annotated[
        str,
        typer.Option(
            "--verifier",
            help="Who decides each item's nearest windows offline: offline (a fitted "
            "model over several signals) or off (cosine thresholds only).",
        ),
    ] = _default("verifier"),
    verify_k: Annotated[
        int,
        typer.Option(
            "--verify-k", min=1, help="Nearest windows per eval item handed to the verifier."
        ),
    ] = _default("verify_k"),
    gate_short: Annotated[
        bool,
        typer.Option("--gate-short", help="Fail on exact hits of items too short for n-grams too."),
    ] = _default("gate_short"),
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", metavar="DIR", help="Write contamination.json, .md and .html here."
        ),
    ] = None,
    decontaminate_to: Annotated[
        Path | None,
        typer.Option(
            "--decontaminate",
            metavar="OUT",
            help="Write the corpus without gated documents to OUT/kept (removed: OUT/rejected).",
        ),
    ] = None,
    cut_spans: Annotated[
        bool, typer.Option("--cut-spans", help="With --decontaminate: cut matched spans instead.")
    ] = False,
    no_semantic: Annotated[
        bool, typer.Option("--no-semantic", help="N-gram check only: no embeddings.")
    ] = False,
    plans: Annotated[
        list[Path] | None,
        typer.Option(
            "--plans", metavar="PLAN", help="A generation plan (JSONL) to check; repeatable."
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            metavar="BACKEND",
            help="Have an LLM judge the strongest semantic hits (backend: anthropic); its "
            "verdict decides their gate.",
        ),
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", metavar="M", help="Model to judge with.")
    ] = None,
    judge_top: Annotated[
        int,
        typer.Option(
            "--judge-top", metavar="N", min=1, help="Semantic hits to judge, strongest first."
        ),
    ] = default_of(JudgeSetup, "top"),
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            metavar="DIR",
            help=f"Embedding cache (default {default_cache_dir()}); "
            "point it at dedup's to reuse its vectors.",
        ),
    ] = _default("cache_dir"),
    allow_empty: AllowEmptyOption = False,
    overwrite: OverwriteOption = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Check CORPUS for eval items; exit 1 when the gate is exceeded.

    Also exit 1 when a --judge call got no answer: its hit is left to the
    cosine gate in the report, but the judge never read it. Earlier reports
    in --report DIR, or a corpus in --decontaminate OUT, are replaced only
    with --overwrite (the judge's cost ledger is added to).
    """
    if cut_spans and decontaminate_to is None:
        raise ConfigError("--cut-spans needs --decontaminate OUT")
    setup = None
    if judge is not None:  # its costs go to DIR/judge-ledger.jsonl with --report
        setup = open_judge(
            judge,
            semantic=not no_semantic,
            model=judge_model,
            top=judge_top,
            ledger=report / JUDGE_LEDGER if report is not None else None,
            out_dir=report or Path("."),
        )
    options = CheckOptions(
        ngram=ngram,
        semantic=not no_semantic,
        semantic_threshold=semantic_threshold,
        gate_ngram=gate_ngram,
        gate_cosine=gate_cosine,
        top_k=top_k,
        retrieval=retrieval,
        units=units,
        verifier=verifier,
        verify_k=verify_k,
        gate_short=gate_short,
        cache_dir=cache,
        quiet=quiet,
    )
    with opened_executor(executor, ray_address) as runner:
        result = run_check(
            corpus,
            evals,
            plans=plans or [],
            options=options,
            report_dir=report,
            decontaminate_to=decontaminate_to,
            cut_spans=cut_spans,
            judge=setup,
            allow_empty=allow_empty,
            overwrite=overwrite,
            executor=runner,
        )
    if as_json:
        shown = {
            **result,
            "distance": {
                name: {k: v for k, v in dist.items() if k != "nearest"}
                for name, dist in result["distance"].items()
            },
        }
        emit_json(shown)
    else:
        _print(result, verbose)
    problem = judge_problem(result["summary"].get("judge"))
    try:
        gate_or_raise(result)
    except CheckFailed as failed:
        raise CheckFailed(f"{failed}; {problem}" if problem else str(failed)) from None
    if problem:
        raise CheckFailed(problem)
