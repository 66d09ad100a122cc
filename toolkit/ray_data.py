"""Ray Data under `RayExecutor.map_shards`: inputs become rows, results return in order.

Each input is one row of its own block (`from_items`, pickled with its
position), so `map_batches(batch_size=1)` is one task per input; Ray Data
streams the results back in input order (`preserve_order`, and a reorder
by position for good measure). A
generator of inputs is cut into windows, each its own dataset, so memory
holds one window's inputs and results, never the whole run's.

The work function's value, or the exception it raised, travels back
pickled in the row, so an error raised on purpose (a `CorpusError`)
reaches the caller as itself and is not retried; a task whose worker dies
is run again (`max_retries`), and one that fails
for good ends the map with one line. Ray Data's own progress bars and
log lines stay off the terminal; the commands draw their own.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import pickle
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from toolkit.errors import CorpusError

__all__ = ["FAILED", "configure", "map_rows", "outcome", "task_fn"]

FAILED = "executor ray: a task failed"


def configure(ray: Any) -> None:
    """Results in input order; no progress bars, no start or stats lines."""
    with warnings.catch_warnings():  # Ray Data's own deprecations, on first use
        warnings.simplefilter("ignore")
        context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failure is our one line


def outcome(call: Callable[[Any], Any], blob: bytes) -> bytes:
    """`call(input)`'s value, or the exception it raised, pickled."""
    try:
        return pickle.dumps((True, call(pickle.loads(blob))), protocol=5)
    except Exception as err:  # returned, not raised: Ray would wrap it, and retry
        try:
            return pickle.dumps((False, err), protocol=5)
        except Exception:  # an exception that will not pickle: its message will
            line = f"{type(err).__name__}: {err}".splitlines()[0]
            return pickle.dumps((False, CorpusError(f"{FAILED}: {line}")), protocol=5)


def _apply(call: Callable[[Any], Any], batch: Any) -> Any:
    """One batch (an Arrow table of position `i` and pickled input `x`) mapped."""
    pa: Any = importlib.import_module("pyarrow")  # untyped: used as Any
    outcomes = [outcome(call, blob) for blob in batch.column("x").to_pylist()]
    return pa.table({"i": batch.column("i"), "y": pa.array(outcomes, pa.large_binary())})


def task_fn(fn: Callable[[Any, Any], Any], shared: Any) -> Callable[[Any], Any]:
    """The map function of a task: `fn(context, x)`, the context read from the object store."""

    def apply(batch: Any) -> Any:
        import ray

        context = ray.get(shared)
        return _apply(lambda x: fn(context, x), batch)

    return apply


def map_rows(
    ray: Any,
    inputs: Iterable[Any],
    window: int,
    mapped: Callable[[Any, int], Any],
) -> Iterator[Any]:
    """Each input's outcome in input order: `inputs` cut into windows of `window`,
    each a dataset of one row a block that `mapped(dataset, rows)` maps."""
    items = iter(inputs)
    while chunk := list(itertools.islice(items, window)):
        rows = [{"i": i, "x": pickle.dumps(x, protocol=5)} for i, x in enumerate(chunk)]
        del chunk
        with warnings.catch_warnings():  # max_retries is a plain remote argument to us
            warnings.simplefilter("ignore")
            dataset = mapped(ray.data.from_items(rows, override_num_blocks=len(rows)), len(rows))
        del rows
        yield from _in_order(ray, dataset)


def _in_order(ray: Any, dataset: Any) -> Iterator[Any]:
    waiting: dict[int, bytes] = {}
    expected = 0
    rows = iter(dataset.iter_rows())
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except ray.exceptions.RayError as err:  # a task's worker died more often than retried
            text = str(err).strip()
            first = text.splitlines()[0] if text else type(err).__name__
            raise CorpusError(f"{FAILED}: {first}") from None
        waiting[int(row["i"])] = row["y"]
        while expected in waiting:
            ok, value = pickle.loads(waiting.pop(expected))
            expected += 1
            if not ok:
                raise value
            yield value
