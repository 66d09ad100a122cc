"""Seeded dealing for planners: principle quotas and shuffled decks of values.

Independent random draws clump: some values come up often, some never. A
deck deals every value once before any value twice, so a plan uses its
attribute values evenly; a quota deals principles round-robin, so every
principle is covered. Seeds are strings, which `random` hashes stably.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

from toolkit.constitution import Constitution, Principle
from toolkit.errors import ConfigError

__all__ = ["Deck", "deck", "principle_quota", "seeded_rng"]

T = TypeVar("T")


class Deck(Generic[T]):
    """Deals values in a seeded shuffled order, reshuffling when all have been dealt."""

    def __init__(self, values: Sequence[T], rng: random.Random) -> None:
        if not values:
            raise ConfigError("cannot deal from an empty list of values")
        self._values = list(values)
        self._rng = rng
        self._pile: list[T] = []

    def __len__(self) -> int:
        """How many values it deals from."""
        return len(self._values)

    def draw(self) -> T:
        if not self._pile:
            self._pile = list(self._values)
            self._rng.shuffle(self._pile)
        return self._pile.pop()


def seeded_rng(seed: int, kind: str, name: str) -> random.Random:
    """One independent generator per (seed, kind, attribute); str seeds are stable."""
    return random.Random(f"{seed}:{kind}:{name}")


def deck(values: Sequence[T], seed: int, kind: str, name: str) -> Deck[T]:
    return Deck(values, seeded_rng(seed, kind, name))


def principle_quota(
    constitution: Constitution, n: int | None, per_principle: int | None, seed: int, kind: str
) -> list[Principle]:
    """Primary principle of each item: round-robin over a seeded shuffle of all principles."""
    principles = constitution.principles()
    count = len(principles)
    if not count:
        raise ConfigError(f"{constitution.path}: no principles (sections with body text) to plan")
    if n is not None and per_principle is not None:
        raise ConfigError("give either n or per_principle, not both")
    if per_principle is not None:
        if per_principle < 1:
            raise ConfigError(f"per_principle must be at least 1, got {per_principle}")
        total = per_principle * count
    elif n is None:
        total = count
    elif n < count:
        raise ConfigError(
            f"n={n} cannot cover every principle: {constitution.path} has {count} "
            f"principles, so the minimum is n={count}"
        )
    else:
        total = n
    order = list(principles)
    seeded_rng(seed, kind, "principles").shuffle(order)
    return [order[i % count] for i in range(total)]
