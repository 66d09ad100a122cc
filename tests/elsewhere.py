"""An executor standing for another process, for tests of what crosses to a worker.

The context, every input and every result go through pickle, and an actor's
setup runs on the copy, so a stage that leans on shared memory or on an
object that does not pickle fails here as it would on a cluster. It counts
the inputs each task function was given and keeps each actor state it set up.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


class Elsewhere:
    name = "elsewhere"
    in_process = False

    def __init__(self) -> None:
        self.ran: Counter[str] = Counter()
        self.states: list[Any] = []

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        copy = sent(context)
        for item in inputs:
            self.ran[fn.__name__] += 1
            yield sent(fn(copy, sent(item)))

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        state = setup(sent(context))
        self.states.append(state)
        for item in inputs:
            yield sent(fn(state, sent(item)))

    def release_actors(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


def sent(value: Any) -> Any:
    """`value` as a worker in another process would receive it."""
    return pickle.loads(pickle.dumps(value))
