"""`ccorpus quality`: score documents, filter them by a profile, and judge a sample.

Each command calls one library function in `toolkit.quality` and prints what
it returns; errors are raised as `CorpusError`s, never printed here. The
library is imported inside each command: it loads spaCy, which costs every
other command a second and a half of start-up.
"""

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
    SkipBadOption,
    emit_json,
    opened_executor,
    stdout_console,
)
from toolkit.constitution import Constitution, load_constitution

__all__ = ["app"]

app = typer.Typer(help="Score, filter and judge corpus quality.", no_args_is_help=True)

CorpusArg = Annotated[
    Path,
    typer.Argument(metavar="CORPUS", help="A .jsonl or .jsonl.zst file, or a directory of shards."),
]
OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Directory for the output files.")
]
ConstitutionOption = Annotated[
    Path | None,
    typer.Option(
        "--constitution",
        metavar="PATH",
        help="Constitution for grounding explainers; without it grounding is null.",
    ),
]
ProfileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile", metavar="PATH", help="TOML quality profile (default: the shipped default.v2)."
    ),
]
SpacyOption = Annotated[
    str | None,
    typer.Option(
        "--spacy-model",
        metavar="NAME",
        help="Installed spaCy pipeline to use (default: blank English with a sentencizer).",
    ),
]
EmbedOption = Annotated[
    bool,
    typer.Option(
        "--embed/--no-embed",
        help="Embedding cosine grounding for explainers (needs --constitution).",
    ),
]


def _constitution(path: Path | None) -> Constitution | None:
    return None if path is None else load_constitution(path)


def _print(rows: list[tuple[str, Any]]) -> None:
    for label, value in rows:
        stdout_console.print(f"{label:<22} {value}", markup=False)


@app.command()
def score(
    corpus: CorpusArg,
    out: OutOption,
    constitution: ConstitutionOption = None,
    profile: ProfileOption = None,
    spacy_model: SpacyOption = None,
    embed: EmbedOption = True,
    skip_bad: SkipBadOption = False,
    allow_empty: AllowEmptyOption = False,
    overwrite: OverwriteOption = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Compute each document's quality signals into DIR/scores.jsonl.

    One line per document, keyed by its id, so `quality filter --scores` can
    apply other thresholds without scoring again.
    """
    from toolkit.quality import load_profile, score_corpus

    with opened_executor(executor, ray_address) as runner:
        result = score_corpus(
            corpus,
            out,
            profile=load_profile(profile),
            constitution=_constitution(constitution),
            spacy_model=spacy_model,
            embeddings=embed,
            skip_bad=skip_bad,
            allow_empty=allow_empty,
            quiet=quiet,
            overwrite=overwrite,
            executor=runner,
        )
    if as_json:
        emit_json(result)
        return
    _print(
        [
            ("documents", result["documents"]),
            *((f"  {kind}", n) for kind, n in result["by_kind"].items()),
            ("grounding", result["grounding"]),
            ("profile", result["profile_version"]),
            ("batches", _batches(result)),
            ("scores", result["scores"]),
        ]
    )


def _batches(result: dict[str, Any]) -> str:
    """Batches scored, and what a killed run's work folder gave or why it was set aside."""
    text = str(result["batches"])
    if result["resumed"]:
        text += f" ({result['resumed']} resumed from a killed run)"
    if result["restarted"]:
        text += "; a killed run's work was set aside: its corpus or settings differ"
    return text


@app.command("filter")
def filter_(
    corpus: CorpusArg,
    out: OutOption,
    profile: ProfileOption = None,
    scores: Annotated[
        Path | None,
        typer.Option(
            "--scores",
            metavar="PATH",
            help="Reuse a scores.jsonl from `quality score` instead of computing scores.",
        ),
    ] = None,
    constitution: ConstitutionOption = None,
    spacy_model: SpacyOption = None,
    embed: EmbedOption = True,
    skip_bad: SkipBadOption = False,
    allow_empty: AllowEmptyOption = False,
    overwrite: OverwriteOption = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Keep documents passing the profile's rules; reject the rest.

    Kept documents go to DIR/kept; rejects go to DIR/rejected, each with
    metadata.rejected naming the first rule it failed and listing every
    failure; DIR/summary.json counts them. Every document carries
    metadata.quality: its signals and the profile's composite score in [0, 1].
    """
    from toolkit.quality import filter_corpus, load_profile

    with opened_executor(executor, ray_address) as runner:
        summary = filter_corpus(
            corpus,
            out,
            profile=load_profile(profile),
            scores=scores,
            constitution=_constitution(constitution),
            spacy_model=spacy_model,
            embeddings=embed,
            skip_bad=skip_bad,
            allow_empty=allow_empty,
            quiet=quiet,
            overwrite=overwrite,
            executor=runner,
        )
    if as_json:
        emit_json(summary)
        return
    _print(
        [
            ("documents", summary["documents"]),
            ("kept", summary["kept"]),
            ("rejected", summary["dropped"]),
            *((f"  {reason}", n) for reason, n in summary["reasons"].items()),
            *_score_rows(summary["kept_score"]),
        ]
    )


def _score_rows(spread: dict[str, float] | None) -> list[tuple[str, Any]]:
    if spread is None:
        return []
    return [("score of kept", " ".join(f"{k} {v:g}" for k, v in spread.items()))]


@app.command()
def judge(
    corpus: CorpusArg,
    out: OutOption,
    constitution: Annotated[
        Path,
        typer.Option(
            "--constitution", metavar="PATH", help="Constitution holding the cited principles."
        ),
    ],
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="anthropic (needs ANTHROPIC_API_KEY), or offline: a labelled stand-in that "
            "scores observable text features, not a model (the default without a key).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", metavar="M", help="Model to judge with.")
    ] = None,
    batch: Annotated[
        bool,
        typer.Option(
            "--batch/--live",
            help="Message Batches API (half price; DIR/batches.json lets a rerun collect "
            "what was submitted) or live calls.",
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", min=1, help="Judge only the first N documents."),
    ] = None,
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rate faithfulness, quality and reasoning into DIR/judge.jsonl.

    An LLM gives each document three 1-5 ratings with reasons (or, with
    --backend offline, a labelled stand-in scores text features); the cost
    goes to the ledger beside it. Exits 1, after the figures, when a judge request got no
    answer or no document got a verdict (the line names the first cause).
    """
    import shlex

    from toolkit.generate.backends import DEFAULT_MODEL, OFFLINE_MODEL, default_backend
    from toolkit.quality.judge import check_judged, judge_corpus

    name = backend or default_backend()
    chosen = model or (OFFLINE_MODEL if name == "offline" else DEFAULT_MODEL)
    summary = judge_corpus(
        corpus,
        out,
        _judge_backend(name, out, batch=batch),
        constitution=load_constitution(constitution),
        model=chosen,
        limit=limit,
        quiet=quiet,
        overwrite=overwrite,
    )
    means = {axis: summary[f"mean_{axis}"] for axis in ("faithfulness", "quality", "reasoning")}
    if as_json:
        emit_json(summary)
    else:
        _print(
            [
                ("documents", summary["documents"]),
                ("judged", summary["judged"]),
                ("errors", summary["errors"]),
                ("failed", summary["failed"]),
                *((f"mean {axis}", "-" if m is None else m) for axis, m in means.items()),
                ("judge", "offline stand-in (not a model)" if name == "offline" else chosen),
                ("judgements", summary["judge"]),
                ("ledger", summary["ledger"]),
                ("cost", f"${summary['cost_usd']:.4f}"),
            ]
        )
    rerun = ["ccorpus", "quality", "judge", str(corpus), "--out", str(out)]
    rerun += ["--constitution", str(constitution)]
    rerun += ["--backend", name] if backend is not None else []
    rerun += ["--model", chosen] if model is not None else []
    rerun += ["--batch"] if batch else []
    rerun += ["--limit", str(limit)] if limit is not None else []
    rerun += ["--overwrite"]  # the rerun replaces this run's judge.jsonl
    check_judged(summary, shlex.join(rerun))


def _judge_backend(name: str, out: Path, *, batch: bool) -> Any:
    """The offline stand-in for `offline`, else the named generation backend."""
    from toolkit.generate.backends import open_backend
    from toolkit.quality.judge_offline import OfflineCritic

    if name == "offline":
        return OfflineCritic()
    return open_backend(name, out_dir=out, batch=batch)
