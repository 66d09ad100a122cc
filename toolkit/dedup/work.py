"""The work folder of a streamed dedup run: what each pass wrote, and reads of it by position.

The first pass writes, for each input shard, a folder of parts (a few
thousand documents each): per document its id, a snippet, the keep
policy's fields, the exact key, its shingle set and its LSH band keys, as
`.npy` arrays and byte tables that later passes read in slices. A folder
counts only once its `done.json` is written, last, so a killed run redoes
the shards without one. The whole folder belongs to one key (the settings
and the input files' names, sizes and times): another key empties it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.dedup.clusters import Candidate, IntArray
from toolkit.dedup.minhash import ShingleSets
from toolkit.io.workdir import DONE
from toolkit.io.workdir import WorkDir as KeyedWorkDir

__all__ = ["DONE", "Names", "Part", "Store", "WorkDir", "read_strings", "write_strings"]

WORK_FORMAT = "ccorpus-dedup-work/1"
FEATURES = np.dtype([("length", "<i8"), ("quality", "<f8"), ("accepted", "u1")])


def write_strings(path: Path, strings: Sequence[str]) -> None:
    """Strings as one UTF-8 byte file and `path.off.npy`, the offsets of each."""
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    path.write_bytes(b"".join(encoded))
    np.save(path.with_name(path.name + ".off.npy"), offsets)


def read_bytes(path: Path, local: IntArray) -> tuple[bytes, IntArray]:
    """The bytes of the strings at `local` indexes of a table, joined, and their offsets."""
    offsets = np.load(path.with_name(path.name + ".off.npy"), mmap_mode="r")
    starts, ends = np.asarray(offsets[local]), np.asarray(offsets[local + 1])
    lengths = ends - starts
    joined = np.zeros(local.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=joined[1:])
    if not joined[-1]:
        return b"", joined
    data = np.memmap(path, dtype=np.uint8, mode="r")
    index = np.repeat(starts - joined[:-1], lengths) + np.arange(int(joined[-1]))
    blob = data[index].tobytes()
    del data
    return blob, joined


def split_strings(blob: bytes, offsets: IntArray) -> list[str]:
    bounds = offsets.tolist()
    return [blob[s:e].decode("utf-8", "surrogatepass") for s, e in itertools.pairwise(bounds)]


def read_strings(path: Path, local: IntArray) -> list[str]:
    """The strings at `local` indexes of a table written by `write_strings`."""
    return split_strings(*read_bytes(path, local))


class WorkDir(KeyedWorkDir):
    """Dedup's work folder (`toolkit.io.workdir`): shards scanned and embedded, stages
    decided, output shards written."""

    def __init__(self, root: str | Path, key: dict[str, Any]) -> None:
        super().__init__(root, key, format=WORK_FORMAT)


@dataclass(frozen=True, slots=True)
class Part:
    """Documents `start .. start + count - 1` of the corpus, written under `folder/name.*`."""

    folder: Path
    name: str
    start: int
    count: int

    def path(self, what: str) -> Path:
        return self.folder / f"{self.name}.{what}"

    def array(self, what: str) -> npt.NDArray[Any]:
        found: npt.NDArray[Any] = np.load(self.path(f"{what}.npy"), mmap_mode="r")
        return found


class Store:
    """Reads of the first pass's parts by corpus position (a `Lookup`, and more)."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = list(parts)
        ends = [p.start + p.count for p in self.parts]
        self.starts = np.asarray([p.start for p in self.parts] + ends[-1:], dtype=np.int64)

    @property
    def documents(self) -> int:
        return int(self.starts[-1]) if self.parts else 0

    def groups(self, positions: IntArray) -> Iterator[tuple[Part, IntArray, IntArray]]:
        """For each part holding some of `positions`: the part, their local indexes and
        their places in `positions`."""
        order = np.argsort(positions, kind="stable")
        ordered = positions[order]
        bounds = np.searchsorted(ordered, self.starts)
        for k, part in enumerate(self.parts):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if lo < hi:
                yield part, ordered[lo:hi] - part.start, order[lo:hi]

    def _strings(self, positions: IntArray, what: str) -> list[str]:
        out = [""] * positions.shape[0]
        for part, local, where in self.groups(positions):
            for i, text in zip(where.tolist(), read_strings(part.path(what), local), strict=True):
                out[i] = text
        return out

    def ids(self, positions: IntArray) -> list[str]:
        return self._strings(positions, "ids")

    def snippets(self, positions: IntArray) -> list[str]:
        return self._strings(positions, "snippets")

    def candidates(self, positions: IntArray) -> list[Candidate]:
        names = self.ids(positions)
        out: list[Candidate | None] = [None] * positions.shape[0]
        for part, local, where in self.groups(positions):
            rows = np.asarray(part.array("features")[local])
            for i, row in zip(where.tolist(), rows.tolist(), strict=True):
                length, quality, accepted = row
                score = None if quality != quality else float(quality)  # NaN: no score
                out[i] = Candidate(names[i], int(length), score, bool(accepted))
        return [c for c in out if c is not None]

    def shingle_sizes(self, positions: IntArray) -> IntArray:
        sizes = np.zeros(positions.shape[0], dtype=np.int64)
        for part, local, where in self.groups(positions):
            offsets = part.array("shingle_offsets")
            sizes[where] = offsets[local + 1] - offsets[local]
        return sizes

    def shingle_sets(self, positions: IntArray) -> ShingleSets:
        """The shingle sets of `positions`, in that order, as one small `ShingleSets`."""
        sizes = self.shingle_sizes(positions)
        offsets = np.zeros(positions.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=np.uint32)
        for part, local, where in self.groups(positions):
            source = part.array("shingle_offsets")
            first = np.asarray(source[local])
            count = sizes[where]
            owner = np.repeat(np.arange(local.shape[0]), count)
            step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
            flat = first[owner] + step
            targets = np.repeat(offsets[where], count) + step
            if flat.shape[0]:
                values[targets] = part.array("shingles")[flat]
        return ShingleSets(values, offsets)


class Names(Store):
    """The store, with the ids of some positions held in memory (one byte string).

    The last pass looks up the ids of every drop, keeper and survivor, a
    chunk of the corpus at a time, in no order; reading them once, part by
    part, costs about 35 bytes per duplicate instead of a part's table per
    chunk.
    """

    def __init__(self, store: Store, positions: IntArray) -> None:
        super().__init__(store.parts)
        self.held = np.unique(positions)
        blobs: list[bytes] = []
        lengths: list[IntArray] = []
        for part, local, _ in store.groups(self.held):
            blob, offsets = read_bytes(part.path("ids"), local)
            blobs.append(blob)
            lengths.append(np.diff(offsets))
        self.blob = b"".join(blobs)
        self.offsets = np.zeros(self.held.shape[0] + 1, dtype=np.int64)
        if lengths:
            np.cumsum(np.concatenate(lengths), out=self.offsets[1:])

    def ids(self, positions: IntArray) -> list[str]:
        at = np.searchsorted(self.held, positions)
        inside = at < self.held.shape[0]
        if not (inside.all() and (self.held[at] == positions).all()):
            return super().ids(positions)
        pairs = zip(self.offsets[at].tolist(), self.offsets[at + 1].tolist(), strict=True)
        return [self.blob[s:e].decode("utf-8", "surrogatepass") for s, e in pairs]
