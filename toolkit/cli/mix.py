"""`ccorpus mix`: build, verify and inspect training mixes."""

from __future__ import annotations

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
from toolkit.mix import build_mix, inspect_mix, raise_if_failed, verify_mix
from toolkit.progress import stderr_console

app = typer.Typer(help="Blend corpora into training mixes by token share.", no_args_is_help=True)

MixDirArg = Annotated[
    Path, typer.Argument(metavar="DIR", help="A mix directory written by `mix build`.")
]


def _composition(report: dict[str, Any]) -> None:
    tokens, splits = report["tokens"], report["splits"]

    def say(text: str) -> None:
        stdout_console.print(text, markup=False)

    say(f"tokens           {tokens['realised']:,} of {tokens['requested']:,} requested")
    for split, figures in splits.items():
        say(f"{split:<16} {figures['documents']:,} documents, {figures['tokens']:,} tokens")
    say(f"{'source':<16} {'asked':>7} {'got':>7} {'tokens':>10} {'epochs':>7} {'documents':>10}")
    for name, s in report["sources"].items():
        say(
            f"{name:<16} {s['share']:>7.1%} {s['share_realised']:>7.1%} "
            f"{s['tokens_realised']:>10,} {s['epochs_realised']:>7g} "
            f"{s['documents_realised']:>10,}"
        )
    say(f"{'kind':<16} {'train tokens':>12} {'validation tokens':>18}")
    for kind, by_split in report["kinds"].items():
        train, valid = by_split["train"]["tokens"], by_split["validation"]["tokens"]
        say(f"{kind:<16} {train:>12,} {valid:>18,}")
    say(f"{'format':<16} {'folder':<24} {'shards':>7} {'documents':>10}")
    for fmt, folders in report["layout"].items():
        for where in folders.values():
            folder, shards, documents = where["folder"] + "/", where["shards"], where["documents"]
            say(f"{fmt:<16} {folder:<24} {shards:>7,} {documents:>10,}")


def _notes(notes: list[str]) -> None:
    for note in notes:
        stderr_console.print(f"note: {note}", markup=False, soft_wrap=True)


@app.command()
def build(
    spec: Annotated[
        Path, typer.Argument(metavar="SPEC.toml", help="The mix spec (TOML) to build.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output directory: empty, or an earlier mix (with --overwrite)."
        ),
    ],
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Token-count cache directory (default: DIR/.cache)."),
    ] = None,
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build shards, a manifest and a data card from a mix spec.

    Shards go under DIR/parquet and DIR/jsonl (the spec's formats), one folder
    per split, beside manifest.json and README.md (the data card). An earlier
    mix in DIR is replaced only with --overwrite; its token counts are reused.
    """
    manifest = build_mix(spec, out, cache_dir=cache_dir, quiet=quiet, overwrite=overwrite)
    report = inspect_mix(out)
    if as_json:
        emit_json(report)
    else:
        stdout_console.print(
            f"wrote {len(manifest['shards'])} shard file(s) to {out}", markup=False
        )
        _composition(report)
    _notes(manifest["notes"])


@app.command()
def verify(
    directory: MixDirArg,
    tokenizer: Annotated[
        Path | None,
        typer.Option(
            "--tokenizer",
            help="The tokenizer.json the mix was counted with (default: the bundled one).",
        ),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Re-hash and re-count every shard; exit 1 on any difference.

    Each shard's sha256, rows and tokens, and the data card, are checked
    against manifest.json; every difference is listed.
    """
    report = verify_mix(directory, tokenizer=tokenizer, quiet=quiet)
    if as_json:
        emit_json(report)
    else:
        stdout_console.print(
            f"{report['shards']} shard file(s), {report['documents']:,} rows checked",
            markup=False,
        )
        for problem in report["problems"]:
            stdout_console.print(f"  {problem}", markup=False)
        stdout_console.print("ok" if report["ok"] else "FAILED", markup=False)
    raise_if_failed(report)


@app.command()
def inspect(directory: MixDirArg, as_json: JsonOption = False) -> None:
    """Show a mix's composition by source, kind, split and format.

    Tokens asked and got per source, tokens per kind and split, and the
    folder, shards and documents of each format.
    """
    report = inspect_mix(directory)
    if as_json:
        emit_json(report)
    else:
        _composition(report)
    _notes(report["notes"])
