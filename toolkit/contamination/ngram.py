"""N-gram overlap: which eval items appear, verbatim up to case and punctuation.

All items' token n-grams (default 13, as in GPT-3 and lm-evaluation-harness)
go into one index of 64-bit hashes. An item shorter than n tokens but at least
`min_tokens` long is checked as a whole (its single n-gram is the item);
shorter items are listed in `too_short` (the check matches them whole in an
index of their own, built with `min_tokens=1`). "Items" are anything with a
`text`: eval items, or the match units of `toolkit.contamination.units`.
A hit counts the item's n-grams found and the share of its tokens they
cover (`coverage`): a copy of the first half of an item covers half its
tokens but holds fewer than half its n-grams.

The scan hashes a batch of documents at once: token hashes come from
`text.tokenise`, n-gram hashes from a prefix sum of them (so any length costs
the same three array operations). Every position's `min_tokens`-gram is
probed first (a byte table on the top hash bits) against the heads of all
the item grams, long and short; only the few positions that pass get their
full grams hashed and confirmed by binary search. Hit documents, which are
rare, are then mapped back to original offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from toolkit.contamination.offsets import offset_map
from toolkit.contamination.text import TokenBatch, _Powers, tokenise
from toolkit.document import Document
from toolkit.errors import ConfigError

__all__ = ["NgramHit", "NgramIndex"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
_Q = 0xC2B2AE3D27D4EB4F  # odd: invertible modulo 2**64
Q_POW, Q_INV_POW = _Powers(_Q), _Powers(pow(_Q, -1, 1 << 64))


class HasText(Protocol):
    """What the index reads of an item: its text."""

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NgramHit:
    """Item `item` (its position in the index's item list) found in a document.

    `spans` are the merged matched regions in the document's original text;
    `doc_span` is the longest of them.
    """

    doc_id: str
    item: int
    matched: int
    total: int
    spans: tuple[tuple[int, int], ...]
    covered: int = 0
    tokens: int = 0

    @property
    def share(self) -> float:
        return self.matched / self.total

    @property
    def coverage(self) -> float:
        """Share of the item's tokens inside a matched n-gram."""
        return self.covered / self.tokens if self.tokens else self.share

    @property
    def doc_span(self) -> tuple[int, int]:
        return max(self.spans, key=lambda s: (s[1] - s[0], -s[0]))


def _prefix(hashes: U64) -> U64:
    prefix = np.empty(len(hashes) + 1, dtype=np.uint64)
    prefix[0] = 0
    np.multiply(hashes, Q_INV_POW.get(len(hashes)), out=prefix[1:])
    np.cumsum(prefix[1:], out=prefix[1:])
    return prefix


class _Lookup:
    """Set membership for many 64-bit hashes at once: a byte table on the top
    bits rules out almost every miss, a binary search confirms the rest.
    `find` returns (positions found, index of each in `keys`, which may repeat)."""

    def __init__(self, keys: U64) -> None:
        self.keys = keys  # sorted, may repeat
        # 64 to 128 slots a key: about 1% of misses pass to the binary search
        bits = int(np.clip(np.ceil(np.log2(max(len(keys), 1))) + 6, 16, 26))
        self.shift = np.uint64(64 - bits)
        self.table = np.zeros(1 << bits, dtype=bool)
        self.table[keys >> self.shift] = True

    def find(self, hashes: U64) -> tuple[I64, I64]:
        where = np.flatnonzero(self.table.take((hashes >> self.shift).view(np.int64)))
        if not len(where):
            return where, where
        candidates = hashes[where]
        slot = np.minimum(np.searchsorted(self.keys, candidates), len(self.keys) - 1)
        exact = self.keys[slot] == candidates
        return where[exact], slot[exact]


def _gram_hashes(prefix: U64, length: int | I64, first: I64 | None = None) -> U64:
    """Hashes of the `length`-token grams starting at `first` (default: all)."""
    if first is None:
        count = len(prefix) - length
        grams: U64 = prefix[length:] - prefix[:count]
        grams *= Q_POW.get(len(prefix))[length - 1 : length - 1 + count]
        return grams
    last = first + length
    hashes: U64 = prefix[last] - prefix[first]
    hashes *= Q_POW.get(len(prefix))[last - 1]
    return hashes


class NgramIndex:
    """The n-grams of every eval item, ready to scan documents against."""

    def __init__(self, items: Sequence[HasText], *, n: int = 13, min_tokens: int = 5) -> None:
        if n < 1 or min_tokens < 1:
            raise ConfigError(
                f"n-gram size and minimum item length must be ≥ 1, got {n}, {min_tokens}"
            )
        self.items = list(items)
        self.n = n
        self.min_tokens = min(min_tokens, n)
        _, batch = tokenise([item.text for item in self.items])
        counts = np.diff(batch.token_starts)
        self.token_counts = counts
        self.gram_length = np.minimum(counts, n)
        self.too_short = [int(i) for i in np.flatnonzero(counts < self.min_tokens)]
        prefix = _prefix(batch.hashes)
        checked = np.flatnonzero(counts >= self.min_tokens)
        long_ids = checked[counts[checked] >= n]
        short_ids = checked[counts[checked] < n]
        grams = counts[long_ids] - n + 1
        owners = np.concatenate([np.repeat(long_ids, grams), short_ids])
        offsets = np.arange(grams.sum()) - np.repeat(np.cumsum(grams) - grams, grams)
        first = np.concatenate(
            [batch.token_starts[long_ids].repeat(grams) + offsets, batch.token_starts[short_ids]]
        )
        keys = np.concatenate(
            [
                _gram_hashes(prefix, n, first[: len(offsets)]),
                _gram_hashes(prefix, counts[short_ids], first[len(offsets) :]),
            ]
        )
        self.lengths = tuple(sorted({int(c) for c in counts[short_ids]}))
        self._long = bool(len(long_ids))
        # The first min_tokens tokens of every gram: a cheap probe that rules out
        # almost every position before any full gram is hashed.
        heads = _gram_hashes(prefix, self.min_tokens, first)
        self._heads = _Lookup(np.unique(heads))
        at = np.concatenate([offsets, np.zeros(len(short_ids), np.int64)])
        order = np.lexsort((at, owners, keys))  # by key, item, offset; then drop repeats
        keys, owners, at = keys[order], owners[order], at[order]
        fresh = np.ones(len(keys), dtype=bool)
        fresh[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
        self.grams_per_item = np.bincount(owners[fresh], minlength=len(self.items))
        self._item_per_pair = owners[fresh].astype(np.int64)
        self._offset_per_pair = at[fresh].astype(np.int64)  # the gram's first token in its item
        self._keys = _Lookup(keys[fresh])

    def _probe(self, prefix: U64, batch: TokenBatch) -> tuple[I64, I64, I64]:
        """(document, first token, key index) of every gram found, any length."""
        found: list[tuple[I64, I64, int]] = []
        heads = np.zeros(0, np.int64)
        if len(prefix) > self.min_tokens:
            heads, _ = self._heads.find(_gram_hashes(prefix, self.min_tokens))
        for length in (self.n,) * self._long + self.lengths if len(heads) else ():
            at = heads[heads + length < len(prefix)]
            where, slot = self._keys.find(_gram_hashes(prefix, length, at))
            found.append((at[where], slot, length))
        docs, firsts, slots = [], [], []
        for where, slot, length in found:
            doc = np.searchsorted(batch.token_starts, where, side="right") - 1
            last_doc = np.searchsorted(batch.token_starts, where + length - 1, side="right") - 1
            same = doc == last_doc
            docs.append(doc[same])
            firsts.append(where[same])
            slots.append(slot[same])
        if not docs:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        return np.concatenate(docs), np.concatenate(firsts), np.concatenate(slots)

    def _scan_batch(self, docs: list[Document]) -> Iterator[NgramHit]:
        working, batch = tokenise([doc.text for doc in docs])
        doc, first, slot = self._probe(_prefix(batch.hashes), batch)
        if not len(doc):
            return
        keys = self._keys.keys  # one entry per (item, key) pair, sorted by key
        owners = np.searchsorted(keys, keys[slot], side="right") - slot
        pair = np.repeat(np.arange(len(slot)), owners)
        slot = slot[pair] + np.arange(len(pair)) - np.repeat(np.cumsum(owners) - owners, owners)
        item = self._item_per_pair[slot]
        doc, first = doc[pair], first[pair]
        order = np.lexsort((first, item, doc))
        doc, first, slot, item = doc[order], first[order], slot[order], item[order]
        cuts = np.flatnonzero((np.diff(doc) != 0) | (np.diff(item) != 0)) + 1
        maps: dict[int, tuple[I64, I64]] = {}
        for group in np.split(np.arange(len(doc)), cuts):
            d, i = int(doc[group[0]]), int(item[group[0]])
            if d not in maps:
                maps[d] = offset_map(docs[d].text, working[d])
            yield self._hit(docs[d], i, first[group], slot[group], batch, d, maps[d])

    def _hit(
        self,
        doc: Document,
        item: int,
        first: I64,
        slot: I64,
        batch: TokenBatch,
        d: int,
        mapping: tuple[I64, I64],
    ) -> NgramHit:
        length = int(self.gram_length[item])
        base = batch.text_starts[d]
        starts = mapping[0][batch.starts[first] - base]
        ends = mapping[1][batch.ends[first + length - 1] - base - 1]
        spans: list[tuple[int, int]] = []
        for a, b in sorted(zip(starts.tolist(), ends.tolist(), strict=True)):
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
            else:
                spans.append((a, b))
        found = np.unique(slot)
        tokens = int(self.token_counts[item])
        marks = np.zeros(tokens + 1, dtype=np.int64)
        np.add.at(marks, self._offset_per_pair[found], 1)
        np.add.at(marks, np.minimum(self._offset_per_pair[found] + length, tokens), -1)
        covered = int(np.count_nonzero(np.cumsum(marks[:tokens])))
        total = int(self.grams_per_item[item])
        return NgramHit(doc.id, item, len(found), total, tuple(spans), covered, tokens)

    def scan(self, docs: Iterable[Document], *, batch_chars: int = 1 << 19) -> Iterator[NgramHit]:
        """Every (document, item) pair sharing at least one gram, document by document."""
        batch: list[Document] = []
        add = batch.append
        size = 0
        for doc in docs:
            add(doc)
            size += len(doc.text)
            if size >= batch_chars:
                yield from self._scan_batch(batch)
                batch, size = [], 0
                add = batch.append
        if batch:
            yield from self._scan_batch(batch)
