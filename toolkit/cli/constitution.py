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
    GRANULARITIES,
    Constitution,
    Node,
    Segmentation,
    diff_constitutions,
    load_constitution,
    node_to_dict,
    node_words,
    principle_documents,
    stats,
)
from toolkit.constitution.diff import RENAME_SIMILARITY
from toolkit.errors import CheckFailed
from toolkit.io import write_documents

__all__ = ["app"]

app = typer.Typer(help="Parse and inspect a constitution.", no_args_is_help=True)

PathArg = Annotated[Path, typer.Argument(metavar="PATH", help="A Markdown constitution (UTF-8).")]
GranularityOption = Annotated[
    str | None,
    typer.Option(
        "--granularity",
        help=(
            f"How to cut sections into principles: {', '.join(GRANULARITIES)} "
            "(default: the file's `principles.granularity`, else auto: only lists "
            "of rules become one principle per item)."
        ),
    ),
]
DepthOption = Annotated[
    int | None,
    typer.Option("--depth", min=0, help="Show headings down to this many levels below the root."),
]


@app.command()
def show(
    path: PathArg,
    depth: DepthOption = None,
    granularity: GranularityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the sections and the principles cut from them.

    One line per heading: id, title, level, source lines and words. "*" marks a
    section that is one principle, "~" a context section (acknowledgements,
    notes, ...: kept, not generated from) with the reason, "-" any other
    section; a section's introduction (`ID/_intro`) and listed rules
    (`ID/item-N`) are listed under it. `--json` prints the whole tree with each
    node's body, role and principles, and the flat list of principles.
    """
    constitution = load_constitution(path, granularity=granularity)
    cut = constitution.cut()
    if as_json:
        emit_json(
            {
                "path": constitution.path,
                "version": constitution.version,
                "title": constitution.title,
                "front_matter": _jsonable(constitution.front_matter),
                "principles_settings": cut.options.to_dict(),
                "principles": [unit.id for unit in cut.principles()],
                "context": [unit.id for unit in cut.context_units()],
                "root": node_to_dict(constitution.root, depth, cut),
            }
        )
        return
    _print_tree(constitution.root, depth, indent=0, cut=cut)


def _print_tree(node: Node, depth: int | None, indent: int, cut: Segmentation) -> None:
    line_range = node.line_range
    where = f"lines {line_range[0]}-{line_range[1]}" if line_range else "no lines"
    units = cut.by_section(node.id)
    context = next((unit for unit in units if not unit.normative), None)
    whole = any(unit.id == node.id and unit.normative for unit in units)
    mark = "~" if context is not None else "*" if whole else "-"
    notes = [f"H{node.level}", where, f"{node_words(node)} words"]
    shared = sum(s.words for s in cut.shared if s.section == node.id)
    if shared:
        notes.append(f"{shared} words shared as context")
    if context is not None:
        notes.append(f"context: {context.reason}")
    typer.echo(f"{'  ' * indent}{mark} {node.id or '(root)'}  {node.title}  [{', '.join(notes)}]")
    for unit in units:
        if unit.id != node.id and unit.normative:
            typer.echo(
                f"{'  ' * (indent + 1)}* {unit.id}  [{unit.kind}, "
                f"lines {unit.lines[0]}-{unit.lines[1]}, {unit.words} words]"
            )
    if depth == 0:
        return
    for child in node.children:
        _print_tree(child, None if depth is None else depth - 1, indent + 1, cut)


@app.command("stats")
def stats_command(
    path: PathArg, granularity: GranularityOption = None, as_json: JsonOption = False
) -> None:
    """Print the figures of a constitution.

    Sections; principles by kind (whole sections, introductions, listed
    rules); context sections and why; where the words of section bodies went
    (in principles, in short introductions shared as context, in excluded
    context sections); depth; blocks by kind; and lost paragraphs (source
    paragraphs the parse did not keep exactly once; 0 when lossless).
    """
    figures = stats(load_constitution(path, granularity=granularity))
    if as_json:
        emit_json(figures)
        return
    table = Table(title=str(path), show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{kind} {count}" for kind, count in value.items()) or "none"
        elif isinstance(value, list):
            value = ", ".join(f"{v['id']} ({v['reason']})" for v in value) or "none"
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
    granularity: GranularityOption = None,
    rename_similarity: Annotated[
        float,
        typer.Option(
            "--rename-similarity",
            min=0.0,
            max=1.0,
            help="Least text similarity (0-1) for an unmatched pair to count as renamed or moved.",
        ),
    ] = RENAME_SIMILARITY,
) -> None:
    """Compare the principles of two constitutions.

    Principles are matched by id, then the rest by text similarity: "+" added,
    "-" removed, ">" renamed or moved (old id -> new id), "~" changed, with
    the words that changed as [-removed-]{+added+}; the last line counts each,
    and unchanged ones. `--exit-code` exits 1 when anything differs.
    """
    result = diff_constitutions(
        _load(old, granularity), _load(new, granularity), rename_similarity=rename_similarity
    )
    counts = result.counts()
    if as_json:
        emit_json(result.to_dict())
    else:
        for node_id in result.added:
            stdout_console.print(Text(f"+ {node_id}"))
        for node_id in result.removed:
            stdout_console.print(Text(f"- {node_id}"))
        for item in result.renamed:
            stdout_console.print(
                Text(f"> {item['old']} -> {item['new']}  (similarity {item['similarity']:.2f})")
            )
        for change in result.changed:
            stdout_console.print(Text(f"~ {change.id}"))
            stdout_console.print(Text(f"    {change.text}"))
        stdout_console.print(Text(", ".join(f"{n} {what}" for what, n in counts.items())))
    if exit_code and result.differs:
        changes = ", ".join(f"{n} {what}" for what, n in counts.items() if what != "unchanged")
        raise CheckFailed(f"{old} and {new} differ: {changes} principles")


def _load(path: Path, granularity: str | None) -> Constitution:
    return load_constitution(path, granularity=granularity)


@app.command()
def export(
    path: PathArg,
    out: Annotated[Path, typer.Option("--out", help="Output .jsonl(.zst) file or directory.")],
    granularity: GranularityOption = None,
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write each principle as a document of kind "external".

    The text is the principle's title and body as written; provenance names
    the source file, the principle id and the constitution version.
    """
    constitution = load_constitution(path, granularity=granularity)
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
