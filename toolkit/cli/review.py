"""`ccorpus review`: import stories for curators, serve the review page, export and stats.

Thin twins of `toolkit.review`; errors are raised, and the root app turns
them into one stderr line and an exit code. `serve` imports the web stack
only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    JsonOption,
    OverwriteOption,
    QuietOption,
    VerboseOption,
    emit_json,
    stdout_console,
)
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
    help="Let curators review stories before they enter a mix.",
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
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import documents into a review database; only new ids are added.

    With --sample, a stratified sample: one line sums up its strata, and
    --verbose lists each with the documents taken and available.
    """
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
    strata = result["strata"]
    if strata and not verbose:
        taken = [stratum["taken"] for stratum in strata]
        _say(
            f"{len(strata)} strata by {', '.join(result['stratify'])}; "
            f"smallest {min(taken)}, largest {max(taken)} taken (--verbose lists each)"
        )
    for stratum in strata if verbose else ():
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
        int | None,
        typer.Option(
            "--port", help="Port to listen on (default 8765, or the next free one; 0: any)."
        ),
    ] = None,
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
    """Serve the review page until interrupted; its link goes to stderr.

    The link carries the access token that the page's writes need.
    """
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
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Export reviewed documents, edits applied, review in metadata.

    Each document keeps its id and carries its last decision (status,
    reviewer, reasons, notes) under metadata.review; a curator's edit
    replaces the generated text.
    """
    result = export_reviewed(db, out, status=status, overwrite=overwrite, quiet=quiet)
    if as_json:
        emit_json(result)
    else:
        _say(f"wrote {result['documents']} {status} documents ({result['edited']} edited) to {out}")


def _rate(row: dict[str, Any]) -> str:
    return "-" if row["rate"] is None else f"{100 * row['rate']:.0f}%"


def _spread(rows: dict[str, dict[str, Any]]) -> str:
    """Acceptance over one dimension in a line: how many values, lowest and highest rate."""
    rated = sorted((row["rate"], key) for key, row in rows.items() if row["rate"] is not None)
    values = f"{len(rows)} value{'' if len(rows) == 1 else 's'}"
    if not rated:
        return f"{values}, none decided yet"
    (low, low_key), (high, high_key) = rated[0], rated[-1]
    if len(rated) == 1:
        return f"{values}; {100 * low:.0f}% ({low_key}), the only one decided"
    return (
        f"{values}; lowest {100 * low:.0f}% ({low_key}), highest {100 * high:.0f}% "
        f"({high_key}) (--verbose lists each)"
    )


@app.command()
def stats(db: DbOption, as_json: JsonOption = False, verbose: VerboseOption = False) -> None:
    """Show progress, acceptance rates, reviewers and their agreement.

    Acceptance is shown per principle, genre and template (one line each
    unless --verbose); agreement is Cohen's kappa over items that two
    reviewers decided.
    """
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
        if not verbose:
            _say(f"acceptance by {dimension}: {_spread(rows)}")
            continue
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
