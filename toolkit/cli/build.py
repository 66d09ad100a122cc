"""`ccorpus build`: the whole pipeline from one corpus config; a thin twin of `run_build`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    JsonOption,
    QuietOption,
    RayAddressOption,
    emit_json,
    stdout_console,
)
from toolkit.errors import CheckFailed
from toolkit.pipeline.runner import STAGES, BuildOptions, run_build

__all__ = ["build_command"]

_STAGES = ", ".join(STAGES)


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        _print(result)


def _print(result: dict[str, Any]) -> None:
    for name, entry in result["stages"].items():
        seconds = f" in {entry['seconds']:.1f} s" if "seconds" in entry else ""
        stdout_console.print(f"{name:<24} {entry['status']}{seconds}", markup=False)
    stdout_console.print(f"report: {result['report']['html']}", markup=False)
    if result["executor"]["name"] != "local":
        where = result["executor"].get("address", "local")
        stdout_console.print(f"executor: {result['executor']['name']} ({where})", markup=False)
    for name, path in result["mixes"].items():
        stdout_console.print(f"mix {name}: {path}", markup=False)


def build_command(
    config: Annotated[
        Path,
        typer.Argument(metavar="CONFIG", help="A corpus config (TOML), e.g. corpus/demo.toml."),
    ],
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="STAGE", help=f"Stop after this stage: {_STAGES}."),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option(
            "--force", metavar="STAGE", help="Rerun this stage even if up to date; repeatable."
        ),
    ] = None,
    allow_unreviewed: Annotated[
        bool,
        typer.Option(
            "--allow-unreviewed", help="Let documents still awaiting review into the mix."
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            metavar="NAME",
            help="Where quality scoring, dedup's scan and contamination's n-gram scan run: "
            "local or ray "
            "(default: the config's [build] executor, else local). Outputs are the same.",
        ),
    ] = None,
    ray_address: RayAddressOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build a corpus from a config, rerunning only what changed.

    Plan, generate, quality, dedup, contamination, review queue, mix, then the
    report. Exit 1 when the review gate or the contamination gate stops the
    build: the figures (or their --json, with "stopped") are printed and the
    report is written either way.
    """
    options = BuildOptions(
        until=until,
        force=tuple(force or ()),
        allow_unreviewed=allow_unreviewed,
        quiet=quiet,
        executor=executor,
        ray_address=ray_address,
    )
    try:
        result = run_build(config, options)
    except CheckFailed as stopped:
        if stopped.figures is not None:
            _show(stopped.figures, as_json)
        raise
    _show(result, as_json)
