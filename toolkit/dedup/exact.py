"""Exact stage: documents whose text is the same up to case, spacing and punctuation."""

from __future__ import annotations

import functools
import hashlib
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from toolkit.dedup.clusters import Edges, FloatArray, IntArray
from toolkit.document import Document

__all__ = ["ExactStage", "canonical_text", "exact_key"]


@functools.cache
def _punctuation_to_space(limit: int = sys.maxunicode + 1) -> dict[int, str]:
    """Every punctuation code point (category P*) below `limit` mapped to a space.

    A space rather than nothing, so "Hello,world" and "Hello, world" agree.
    The ASCII-only table (limit 128) is small enough for `str.translate`'s
    fast path, and costs nothing to build.
    """
    return {cp: " " for cp in range(limit) if unicodedata.category(chr(cp)).startswith("P")}


def canonical_text(text: str) -> str:
    """NFKC, case-folded, punctuation turned to spaces, whitespace runs collapsed to one."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    table = _punctuation_to_space(128 if folded.isascii() else sys.maxunicode + 1)
    return " ".join(folded.translate(table).split())


def exact_key(text: str) -> bytes:
    """sha256 of the canonical text: equal keys mean exact duplicates."""
    return hashlib.sha256(canonical_text(text).encode("utf-8")).digest()


class ExactStage:
    """Group documents by `exact_key`; every member of a group is a duplicate."""

    name = "exact"
    reason = "exact-duplicate"

    def __init__(self) -> None:
        self.stats: dict[str, Any] = {}

    def find(self, docs: Sequence[Document]) -> Edges:
        first: dict[bytes, int] = {}
        a: list[int] = []
        b: list[int] = []
        for i, doc in enumerate(docs):
            j = first.setdefault(exact_key(doc.text), i)
            if j != i:
                a.append(j)
                b.append(i)
        self.stats = {"groups": len(first)}
        return Edges(np.asarray(a, np.int64), np.asarray(b, np.int64), np.ones(len(a), np.float32))

    def scores(self, a: IntArray, b: IntArray) -> FloatArray:
        return np.ones(len(a), np.float32)
