"""Progress bars on stderr, so stdout stays clean for figures and JSON."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress", "stderr_console"]

T = TypeVar("T")

stderr_console = Console(stderr=True)


def progress(
    items: Iterable[T],
    *,
    description: str,
    total: int | None = None,
    quiet: bool = False,
) -> Iterator[T]:
    """Yield from `items` while drawing a bar on stderr unless `quiet`.

    On a non-terminal stderr the bar is not redrawn, so logs stay readable.
    """
    if quiet:
        yield from items
        return
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if total is not None:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=stderr_console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
