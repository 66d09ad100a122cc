"""Progress bars on stderr, so stdout stays clean for figures and JSON."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["Step", "note", "progress", "stderr_console", "step"]

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


def note(text: str, *, quiet: bool = False, console: Console | None = None) -> None:
    """One line on stderr (or `console`) unless `quiet`: what a long step is doing."""
    if not quiet:
        (console or stderr_console).print(text, markup=False, highlight=False, soft_wrap=True)


class _CountOnceKnown(MofNCompleteColumn):
    """Done/total, blank while the total is unknown (rather than "0/?")."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


class Step:
    """The bar of one long step, moved by the code doing the work: `advance` by
    work done, `update` to name a new phase or set the total once it is known.
    A quiet step has no bar and ignores both."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self._bar = bar
        self._task = task

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def update(
        self,
        *,
        description: str | None = None,
        total: float | None = None,
        completed: float | None = None,
    ) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=description, total=total, completed=completed)


@contextlib.contextmanager
def step(
    description: str,
    *,
    total: float | None = None,
    quiet: bool = False,
    console: Console | None = None,
) -> Iterator[Step]:
    """A bar on stderr (or `console`) for one long step that is not a loop over
    items; the work reports through the `Step` yielded. Without a `total` the bar
    pulses and the elapsed time runs, so a step whose length cannot be counted
    (loading a model) still shows that it is alive. Nothing is drawn if `quiet`."""
    if quiet:
        yield Step()
        return
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        _CountOnceKnown(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console or stderr_console, transient=False) as bar:
        yield Step(bar, bar.add_task(description, total=total))
