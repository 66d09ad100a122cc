"""`ccorpus review`: import stories for curators, serve the review page, export and stats.

Thin twins of `toolkit.review`; errors are raised, and the root app turns
them into one stderr line and an exit code. `serve` imports the web stack
only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import JsonOption, QuietOption, emit_json, stdout_console
from toolkit.errors import InputError
from toolkit.review import (
    MAX_ITEM_BYTES,
    STATUSES,
    export_reviewed,
    import_corpus,
    review_stats,
)
from toolkit.review.sampling import parse_stratify

__all__ = ["app"]

app = typer.Typer(
    help="Let curators review generated stories before they may enter a training mix.",
    no_args_is_help=True,
)

DbOption = Annotated[
    Path, typer.Option("--db", help="The review database (SQLite), kept beside the corpus.")
]


def _say(text: str) -> None:
    stdout_console.print(text, markup=False)


@app.command("import")
def import_command(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS", help="A .jsonl or .jsonl.zst file, or a directory of shards."
        ),
    ],
    db: DbOption,
    kinds: Annotated[
        str, typer.Option("--kinds", help="Comma-separated document kinds to import.")
    ] = "story",
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Import a stratified sample of this many documents."),
    ] = None,
    stratify: Annotated[
        str,
        typer.Option(
            "--stratify",
            help="Strata for --sample: principle, template, kind or seed attributes (genre, ...).",
        ),
    ] = "principle,genre",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample draw.")] = 0,
    max_item_bytes: Annotated[
        int,
        typer.Option(
            "--max-item-bytes",
            min=1,
            help="Refuse the import if a document's JSON record is over this many bytes.",
        ),
    ] = MAX_ITEM_BYTES,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import documents into a review database; re-importing adds only new ids."""
    kind_list = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not kind_list:
        raise InputError("--kinds: expected at least one kind, e.g. story")
    result = import_corpus(
        corpus,
        db,
        kinds=kind_list,
        sample=sample,
        stratify=parse_stratify(stratify),
        seed=seed,
        max_item_bytes=max_item_bytes,
        quiet=quiet,
    )
    if as_json:
        emit_json(result)
        return
    _say(
        f"read {result['read']} documents, {result['candidates']} of kind {kinds}; "
        f"selected {result['selected']}: {result['added']} added, "
        f"{result['already_present']} already in {db} ({result['items_in_db']} items in all)"
    )
    for stratum in result["strata"]:
        label = " / ".join(part or "(none)" for part in stratum["stratum"])
        _say(f"  {stratum['taken']:>5} of {stratum['available']:>5}  {label}")


@app.command()
def serve(
    db: DbOption,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; beyond loopback a token is required."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on (0: any free one).")
    ] = 8765,
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Default reviewer name (each browser can set its own)."),
    ] = None,
    constitution: Annotated[
        Path | None,
        typer.Option(
            "--constitution",
            help="Constitution for principle text (default: each document's source).",
        ),
    ] = None,
    guidelines: Annotated[
        Path | None,
        typer.Option(
            "--guidelines", help="Markdown guidelines (default: the shipped guidelines.md)."
        ),
    ] = None,
    reasons: Annotated[
        Path | None,
        typer.Option(
            "--reasons", help="Reason codes file (default: the shipped review_reasons.txt)."
        ),
    ] = None,
) -> None:
    """Serve the review page until interrupted; the link to open goes to stderr."""
    from toolkit.review.server import access_token
    from toolkit.review.server import serve as serve_page
    from toolkit.review.web import review_settings

    settings = review_settings(
        db,
        host=host,
        token=access_token(host),
        reviewer=reviewer,
        constitution=constitution,
        guidelines=guidelines,
        reasons=reasons,
    )
    serve_page(settings, port=port)


@app.command()
def export(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="Output file or shard directory.")],
    status: Annotated[
        str, typer.Option("--status", help=f"Which items to export: one of {', '.join(STATUSES)}.")
    ] = "accepted",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Export reviewed documents with edits applied and the review in metadata."""
    result = export_reviewed(db, out, status=status, overwrite=overwrite, quiet=quiet)
    if as_json:
        emit_json(result)
    else:
        _say(f"wrote {result['documents']} {status} documents ({result['edited']} edited) to {out}")


def _rate(row: dict[str, Any]) -> str:
    return "-" if row["rate"] is None else f"{100 * row['rate']:.0f}%"


@app.command()
def stats(db: DbOption, as_json: JsonOption = False) -> None:
    """Progress, acceptance rates, per-reviewer counts and agreement (Cohen's kappa)."""
    figures = review_stats(db)
    if as_json:
        emit_json(figures)
        return
    progress = figures["progress"]
    _say(f"reviewed {progress['decided']} of {progress['total']} ({progress['percent']}%)")
    for status in STATUSES:
        _say(f"  {status:<11} {progress[status]}")
    _say(f"edited items  {figures['edited_items']}")
    for dimension, rows in figures["acceptance"].items():
        _say(f"acceptance by {dimension}:")
        for key, row in rows.items():
            _say(f"  {_rate(row):>5} of {row['decided']:>4} decided  {key}")
    _say("reviewers:")
    for name, row in figures["reviewers"].items():
        _say(
            f"  {name}: {row['decisions']} decisions on {row['items']} items "
            f"({row['accepted']} accepted, {row['rejected']} rejected, "
            f"{row['needs-edit']} needs-edit), {row['edits']} edits"
        )
    agree = figures["agreement"]
    if agree["items"]:
        kappa = "undefined" if agree["kappa"] is None else f"{agree['kappa']:.3f}"
        _say(
            f"agreement on {agree['items']} items seen by two reviewers: "
            f"{agree['percent']}%, Cohen's kappa {kappa}"
        )
    else:
        _say("agreement: no item has been reviewed by two different reviewers yet")
