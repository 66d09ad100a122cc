"""Options and output helpers shared by every command group."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from toolkit.errors import ConfigError
from toolkit.executor import EXECUTORS, Executor, open_executor

__all__ = [
    "AllowEmptyOption",
    "CommandGroup",
    "ExecutorOption",
    "JsonOption",
    "OverwriteOption",
    "QuietOption",
    "RayAddressOption",
    "SkipBadOption",
    "VerboseOption",
    "default_of",
    "emit_json",
    "opened_executor",
    "stdout_console",
    "summary",
]


def default_of(options: type[Any], name: str) -> Any:
    """The default of field `name` of the library's options dataclass, so a
    command's option defaults to the library's value instead of repeating it."""
    for field in dataclasses.fields(options):
        if field.name == name:
            if field.default_factory is not dataclasses.MISSING:
                return field.default_factory()
            if field.default is dataclasses.MISSING:
                raise TypeError(f"{options.__name__}.{name} has no default")
            return field.default
    raise TypeError(f"{options.__name__} has no field {name!r}")


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

OverwriteOption = Annotated[
    bool,
    typer.Option("--overwrite", help="Replace an output that already exists (else: refused)."),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print every row of long tables in full.")
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        metavar="NAME",
        help="Where the per-batch work runs: local (this process, the default) or ray "
        "(a local Ray cluster, or --ray-address). Outputs are the same bytes.",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help="A running Ray cluster to use (implies --executor ray; default: start a local one).",
    ),
]


@contextmanager
def opened_executor(name: str | None, address: str | None) -> Iterator[Executor]:
    """The executor `--executor`/`--ray-address` name, closed (a cluster it
    started stopped) when the command is done, whether or not it failed."""
    if name is not None and name not in EXECUTORS:
        raise ConfigError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {name!r}")
    if address is not None and name not in (None, "ray"):
        raise ConfigError("--ray-address: needs --executor ray")
    executor = open_executor(name or ("ray" if address is not None else "local"), address)
    try:
        yield executor
    finally:
        executor.close()


def summary(command: Any) -> str:
    """A command's one-line summary: the first paragraph of its help, whole."""
    text = inspect.cleandoc(command.short_help or command.help or "")
    return " ".join(text.split("\n\n")[0].split())


class CommandGroup(TyperGroup):
    """A group listing its commands in `order` (the rest as added), each with its whole summary.

    Click cuts a summary to what fits the terminal and ends it in "..."; here
    it is never cut (a narrow terminal wraps it), so keep summaries short.
    Run bare, the group prints its help on stdout and exits 0, as `--help` does.
    """

    order: tuple[str, ...] = ()

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        first = [name for name in self.order if name in names]
        return first + [name for name in names if name not in first]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout (no rich markup, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
