"""Which situations and dilemmas suit which principle, by meaning, evenly.

Pairing a principle with a situation at random gives advice about a family
ring grounded in the acknowledgements. Instead each principle gets a
shortlist of the candidates nearest to it in meaning, and plans deal from
that shortlist. Nearest alone would pile onto a few "hub" candidates that
sit near everything (embeddings have hubs), so the shortlists are filled
greedily, best pairs first, with a cap on how many shortlists one candidate
may join: every candidate is used, and none more than its share.

A principle is read through a human analogy ("the assistant" as a person,
operators as employers, users as customers), because the candidates are
people's situations, and the words "assistant" and "AI" would otherwise pull
every principle toward the few situations that mention software.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from toolkit.generate.sentences import principle_sentences
from toolkit.generate.vectors import cosines, embed_texts

__all__ = ["PrincipleText", "analogy", "own_text", "principle_scores", "shortlists"]

_ANALOGY = (
    (r"\bthe assistant's\b", "a person's"),
    (r"\b(?:the|an|a) (?:AI )?assistant\b", "a person"),
    (r"\bassistants?\b", "person"),
    (r"\bAI (?:systems?|models?|agents?)\b", "people"),
    (r"\boperators?\b", "employer"),
    (r"\busers?\b", "customer"),
    (r"\bthe developer\b", "the organisation"),
    (r"\bprincipals\b", "the people it answers to"),
)


class PrincipleText(Protocol):
    """What is read of a principle: its id, title and Markdown body."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def kind(self) -> str: ...


def analogy(text: str) -> str:
    """A principle's text with the assistant read as a person (see the module docstring)."""
    for pattern, replacement in _ANALOGY:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def own_text(principle: PrincipleText) -> str:
    """What a principle says itself: a listed item without the lead-in its siblings
    share ("The assistant will not:"), which would otherwise pull every item of a
    list toward the same candidates, the ones about rules in general."""
    if principle.kind == "item":
        head, blank, rest = principle.body.partition("\n\n")
        if blank and rest.strip() and head.rstrip().endswith(":"):
            return rest
    return principle.body


def principle_scores(principles: Sequence[PrincipleText], candidates: Sequence[str]) -> np.ndarray:
    """Relevance of each candidate to each principle (rows x columns): the mean of the
    cosine with the whole principle and the mean of its two nearest sentences."""
    if not principles or not candidates:
        return np.zeros((len(principles), len(candidates)), dtype=np.float32)
    bodies = [analogy(f"{p.title}. {own_text(p)}") for p in principles]
    sentences = [[analogy(s) for s in principle_sentences(own_text(p))] for p in principles]
    embed_texts([*bodies, *(s for group in sentences for s in group), *candidates])  # one batch
    whole = cosines(bodies, list(candidates))
    rows = []
    for group, overall in zip(sentences, whole, strict=True):
        near = cosines(group, list(candidates))
        top = np.sort(near, axis=0)[-2:].mean(axis=0)
        rows.append((overall + top) / 2)
    return np.stack(rows).astype(np.float32)


def shortlists(scores: np.ndarray, size: int, *, slack: int = 1) -> list[list[int]]:
    """Each principle's `size` candidates (column indices, best first): the best
    (principle, candidate) pairs taken first, no candidate in more shortlists than
    an even share allows (`ceil(principles x size / candidates) + slack`)."""
    principles, count = scores.shape
    size = min(size, count)
    cap = math.ceil(principles * size / max(count, 1)) + slack
    lists: list[list[int]] = [[] for _ in range(principles)]
    used = [0] * count
    # A stable sort, so equal scores keep index order and the result is deterministic.
    for flat in np.argsort(-scores, axis=None, kind="stable"):
        row, column = divmod(int(flat), count)
        if len(lists[row]) < size and used[column] < cap:
            lists[row].append(column)
            used[column] += 1
    for row, chosen in enumerate(lists):  # caps can leave a list short: fill it by score
        for column in np.argsort(-scores[row], kind="stable"):
            if len(chosen) >= size:
                break
            if int(column) not in chosen:
                chosen.append(int(column))
    return lists
