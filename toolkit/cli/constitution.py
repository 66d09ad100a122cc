"""`ccorpus constitution`: parse a Markdown constitution and inspect it.

Each command loads with `load_constitution` and prints what one library
function returns; errors are raised, never printed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from toolkit.cli.common import (
    JsonOption,
    OverwriteOption,
    QuietOption,
    emit_json,
    stdout_console,
)
from toolkit.constitution import (
    Node,
    diff_constitutions,
    load_constitution,
    node_to_dict,
    node_words,
    principle_documents,
    stats,
)
from toolkit.errors import CheckFailed
from toolkit.io import write_documents

__all__ = ["app"]

app = typer.Typer(help="Parse and inspect a constitution.", no_args_is_help=True)

PathArg = Annotated[Path, typer.Argument(metavar="PATH", help="A Markdown constitution (UTF-8).")]
DepthOption = Annotated[
    int | None,
    typer.Option("--depth", min=0, help="Show headings down to this many levels below the root."),
]


@app.command()
def show(path: PathArg, depth: DepthOption = None, as_json: JsonOption = False) -> None:
    """Print the section tree of a constitution.

    One line per heading: id, title, level, source lines and words; "*" marks a
    principle. `--json` prints the whole tree with each node's body.
    """
    constitution = load_constitution(path)
    if as_json:
        emit_json(
            {
                "path": constitution.path,
                "version": constitution.version,
                "title": constitution.title,
                "front_matter": _jsonable(constitution.front_matter),
                "root": node_to_dict(constitution.root, depth),
            }
        )
        return
    _print_tree(constitution.root, depth, indent=0)


def _print_tree(node: Node, depth: int | None, indent: int) -> None:
    line_range = node.line_range
    where = f"lines {line_range[0]}-{line_range[1]}" if line_range else "no lines"
    mark = "*" if node.is_principle else "-"
    typer.echo(
        f"{'  ' * indent}{mark} {node.id or '(root)'}  {node.title}  "
        f"[H{node.level}, {where}, {node_words(node)} words]"
    )
    if depth == 0:
        return
    for child in node.children:
        _print_tree(child, None if depth is None else depth - 1, indent + 1)


@app.command("stats")
def stats_command(path: PathArg, as_json: JsonOption = False) -> None:
    """Print the figures of a constitution.

    Sections, principles, words, depth, blocks by kind, and lost paragraphs
    (source paragraphs the parse did not keep exactly once; 0 when lossless).
    """
    figures = stats(load_constitution(path))
    if as_json:
        emit_json(figures)
        return
    table = Table(title=str(path), show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{kind} {count}" for kind, count in value.items()) or "none"
        table.add_row(key, Text(str(value)))
    stdout_console.print(table)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The earlier constitution.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The later constitution.")],
    as_json: JsonOption = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with status 1 when any principle differs.")
    ] = False,
) -> None:
    """Compare the principles of two constitutions.

    Principles are matched by id: added, removed, or changed in body text
    (whitespace aside). `--exit-code` exits 1 when anything differs.
    """
    result = diff_constitutions(load_constitution(old), load_constitution(new))
    if as_json:
        emit_json(result.to_dict())
    else:
        for mark, ids in (("+", result.added), ("-", result.removed), ("~", result.changed)):
            for node_id in ids:
                stdout_console.print(Text(f"{mark} {node_id}"))
        stdout_console.print(
            Text(
                f"{len(result.added)} added, {len(result.removed)} removed, "
                f"{len(result.changed)} changed, {result.unchanged} unchanged"
            )
        )
    if exit_code and result.differs:
        raise CheckFailed(
            f"{old} and {new} differ: {len(result.added)} added, "
            f"{len(result.removed)} removed, {len(result.changed)} changed principles"
        )


@app.command()
def export(
    path: PathArg,
    out: Annotated[Path, typer.Option("--out", help="Output .jsonl(.zst) file or directory.")],
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write each principle as a document of kind "external".

    The text is the principle's title and body as written; provenance names
    the source file, the principle id and the constitution version.
    """
    constitution = load_constitution(path)
    docs = list(principle_documents(constitution))
    files = write_documents(docs, out, overwrite=overwrite)
    result = {
        "documents": len(docs),
        "files": [str(f) for f in files],
        "version": constitution.version,
    }
    if as_json:
        emit_json(result)
    else:
        stdout_console.print(
            Text(
                f"wrote {len(docs)} principles of {path} (version {constitution.version}) to {out}"
            )
        )


def _jsonable(value: Any) -> Any:
    """Front matter values as JSON data (YAML dates and the like become strings)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
