"""`ccorpus corpus`: figures, checks and conversion for corpus files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    AllowEmptyOption,
    JsonOption,
    OverwriteOption,
    QuietOption,
    SkipBadOption,
    emit_json,
    stdout_console,
)
from toolkit.io.summary import check_or_raise, convert_corpus, summarise_corpus, validate_corpus
from toolkit.progress import stderr_console

app = typer.Typer(help="Read, check and convert corpora.", no_args_is_help=True)

CorpusArg = Annotated[
    Path,
    typer.Argument(metavar="CORPUS", help="A .jsonl or .jsonl.zst file, or a directory of shards."),
]


def _print_summary(summary: dict[str, Any]) -> None:
    rows = [
        ("files", summary["files"]),
        ("documents", summary["documents"]),
        *((f"  {kind}", n) for kind, n in summary["by_kind"].items()),
        ("words", summary["words"]),
        ("mean words", summary["mean_words"]),
        ("duplicate ids", summary["duplicate_ids"]),
        ("id mismatches", summary["id_mismatches"]),
        ("skipped lines", summary["skipped_lines"]["skipped"]),
    ]
    for label, value in rows:
        stdout_console.print(f"{label:<16} {value}")


def _note_skipped(summary: dict[str, Any]) -> None:
    skipped = summary["skipped_lines"]
    if skipped["skipped"]:
        stderr_console.print(f"skipped {skipped['skipped']} malformed line(s):", markup=False)
        for where in skipped["where"]:
            stderr_console.print(f"  {where}", markup=False)


@app.command()
def stats(
    corpus: CorpusArg,
    as_json: JsonOption = False,
    skip_bad: SkipBadOption = False,
    quiet: QuietOption = False,
) -> None:
    """Count documents, kinds and words of a corpus."""
    summary = summarise_corpus(corpus, skip_bad=skip_bad, quiet=quiet)
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary)
    _note_skipped(summary)


@app.command()
def validate(corpus: CorpusArg, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Check every line; exit 1 on malformed lines or duplicate ids."""
    summary = validate_corpus(corpus, quiet=quiet)
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary)
        stdout_console.print("ok" if summary["ok"] else "FAILED", markup=False)
    _note_skipped(summary)
    check_or_raise(summary)


@app.command()
def convert(
    corpus: CorpusArg,
    out: Annotated[Path, typer.Option("--out", help="Output file or shard directory.")],
    shard_size: Annotated[
        int, typer.Option("--shard-size", help="Documents per shard (directory output).")
    ] = 50_000,
    compress: Annotated[
        bool, typer.Option("--zst/--no-zst", help="zstd-compress shards (directory output).")
    ] = True,
    overwrite: OverwriteOption = False,
    skip_bad: SkipBadOption = False,
    allow_empty: AllowEmptyOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Re-shard or (de)compress a corpus, writing each shard atomically."""
    result = convert_corpus(
        corpus,
        out,
        shard_size=shard_size,
        compress=compress,
        skip_bad=skip_bad,
        overwrite=overwrite,
        allow_empty=allow_empty,
        quiet=quiet,
    )
    if as_json:
        emit_json(result)
    else:
        stdout_console.print(
            f"wrote {result['documents']} documents to {len(result['files'])} file(s) in {out}",
            markup=False,
        )
    _note_skipped(result)
