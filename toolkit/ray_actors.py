"""A pool of Ray actors that outlives one map: a model loads once per actor per run.

Ray Data's actor pools live for one dataset, and a stage hands its work to
`map_actors` a chunk at a time (dedup's embedding pass: one call per chunk
of up to 4,096 texts), so a pool per dataset loads the model again for
every chunk. `ActorPool` keeps one actor per CPU for as long as the same
setup, function and context keep coming (the executor closes it when other
work needs the CPUs). Inputs stream in as results come back: at most
`_IN_FLIGHT_PER_ACTOR` calls wait on each actor, handed out in turn, and
results are taken back in input order.

An actor whose process dies is started again (`setup` reruns) and its calls
run again (`max_restarts`, `max_task_retries`); one that fails for good ends
the map with one line. The function's value, or the exception it raised,
comes back pickled (`ray_data.outcome`), so an error raised on purpose
reaches the caller as itself and is not retried.
"""

from __future__ import annotations

import collections
import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from toolkit.errors import CorpusError
from toolkit.ray_data import FAILED, outcome

__all__ = ["ActorPool"]

_IN_FLIGHT_PER_ACTOR = 2  # one call running, one waiting: no round trip between calls


class _Actor:
    """One worker's state, `setup(context)`, kept for every call it answers. An error
    in `setup` is answered for every call, as the error it was."""

    def __init__(
        self, setup: Callable[[Any], Any], fn: Callable[[Any, Any], Any], context: Any
    ) -> None:
        self.fn = fn
        self.state: Any = None
        self.error: Exception | None = None
        try:
            self.state = setup(context)
        except Exception as err:
            self.error = err

    def call(self, blob: bytes) -> bytes:
        def run(x: Any) -> Any:
            if self.error is not None:
                raise self.error
            return self.fn(self.state, x)

        return outcome(run, blob)


class ActorPool:
    """`size` actors, each `setup(context)` once, mapping `fn(state, x)` call after call."""

    def __init__(
        self,
        ray: Any,
        setup: Callable[[Any], Any],
        fn: Callable[[Any, Any], Any],
        context: Any,
        *,
        size: int,
        max_retries: int,
        gpus: float = 0,
    ) -> None:
        self.ray = ray
        self.setup, self.fn, self.context, self.gpus = setup, fn, context, gpus
        remote = ray.remote(
            num_cpus=1, num_gpus=gpus, max_restarts=max_retries, max_task_retries=max_retries
        )
        cls = remote(_Actor)
        shared = ray.put(context)
        self.actors = [cls.remote(setup, fn, shared) for _ in range(max(1, size))]

    def serves(
        self,
        setup: Callable[[Any], Any],
        fn: Callable[[Any, Any], Any],
        context: Any,
        gpus: float = 0,
    ) -> bool:
        """Whether these actors are the ones `map_actors(setup, fn, context, ...)` asks for."""
        if setup is not self.setup or fn is not self.fn or gpus != self.gpus:
            return False
        if context is self.context:
            return True
        try:
            return type(context) is type(self.context) and bool(context == self.context)
        except Exception:  # a context whose == is not a truth value (arrays): not the same
            return False

    def map(self, inputs: Iterable[Any]) -> Iterator[Any]:
        """Each input's value, in input order."""
        waiting: collections.deque[Any] = collections.deque()
        limit = _IN_FLIGHT_PER_ACTOR * len(self.actors)
        for turn, x in enumerate(inputs):
            if len(waiting) >= limit:
                yield self._take(waiting.popleft())
            actor = self.actors[turn % len(self.actors)]
            waiting.append(actor.call.remote(pickle.dumps(x, protocol=5)))
        while waiting:
            yield self._take(waiting.popleft())

    def _take(self, ref: Any) -> Any:
        try:
            blob = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:  # an actor died more often than restarted
            text = str(err).strip()
            first = text.splitlines()[0] if text else type(err).__name__
            raise CorpusError(f"{FAILED}: {first}") from None
        ok, value = pickle.loads(blob)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the actors (their CPUs go back to the cluster)."""
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
