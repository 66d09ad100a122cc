"""Options and output helpers shared by every command group."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = [
    "AllowEmptyOption",
    "JsonOption",
    "QuietOption",
    "SkipBadOption",
    "emit_json",
    "stdout_console",
]

stdout_console = Console(highlight=False, soft_wrap=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print figures as JSON on stdout instead of a table.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")]
SkipBadOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad",
        help="Skip malformed lines instead of stopping; report how many and where.",
    ),
]

AllowEmptyOption = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="Write empty outputs for an input with no documents instead of failing (exit 2).",
    ),
]


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout (no rich markup, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
