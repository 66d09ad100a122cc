"""Coverage and diversity of a corpus: the build report's figures that read documents.

Each corpus is streamed once (`tally_corpus`): principle x kind and principle x
genre counts, principle x each kind's own seed axis (`AXES`: a story's genre,
an explainer's genre of exposition, an advice dialogue's situation), and,
when diversity is wanted, exact distinct n-gram counts (word ids packed into
int64 codes, so memory follows the distinct n-grams, not the texts), opening
5-grams, and the smallest ids of each kind as a deterministic sample for the
embedding spread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache
from toolkit.errors import InputError
from toolkit.generate.run_report import opening_ngram
from toolkit.io import read_documents

__all__ = [
    "AXES",
    "NOT_RUN",
    "CorpusTally",
    "coverage_figures",
    "diversity_figures",
    "ran",
    "tally_corpus",
]

NOT_RUN: dict[str, Any] = {"status": "not run"}
#: Seed attributes a document kind varies along, first present wins.
AXES = ("genre", "form", "situation")
SPREAD_SAMPLE = 500  # documents per kind embedded for the spread, smallest ids first
TOP_OPENERS = 10
_WORD = re.compile(r"\w+")
_BASE = 1 << 21  # word ids packed three to an int64: exact below 2M distinct words
_COMPACT_AT = 1 << 20  # pending n-gram codes before they are folded into the distinct set


def ran(**figures: Any) -> dict[str, Any]:
    """A section of a stage that ran: its figures and `status: ok` (else `NOT_RUN`)."""
    return {"status": "ok", **figures}


class _Grams:
    """Distinct over total word n-grams of one order, counted exactly in little memory."""

    def __init__(self) -> None:
        self.total = 0
        self._distinct: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._pending: list[npt.NDArray[np.int64]] = []
        self._pending_size = 0

    def add(self, codes: npt.NDArray[np.int64]) -> None:
        self.total += len(codes)
        self._pending.append(codes)
        self._pending_size += len(codes)
        if self._pending_size >= _COMPACT_AT:
            self._compact()

    def _compact(self) -> None:
        self._distinct = np.unique(np.concatenate([self._distinct, *self._pending]))
        self._pending, self._pending_size = [], 0

    def ratio(self) -> float | None:
        self._compact()
        return round(len(self._distinct) / self.total, 4) if self.total else None


@dataclass
class _KindText:
    """What diversity needs of one kind, gathered in one streaming pass."""

    documents: int = 0
    grams: tuple[_Grams, _Grams, _Grams] = field(
        default_factory=lambda: (_Grams(), _Grams(), _Grams())
    )
    openers: Counter[str] = field(default_factory=Counter)
    sample: dict[str, str] = field(default_factory=dict)


@dataclass
class CorpusTally:
    """Coverage counts (and, when asked, diversity inputs) of one corpus, read once."""

    source: str  # "generated" or "final": what the figures are over
    known: frozenset[str]
    diversity: bool
    documents: int = 0
    kind_documents: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_genre: Counter[tuple[str, str]] = field(default_factory=Counter)
    without_genre: int = 0
    by_axis: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # kind, pid, value
    axis_names: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> attributes
    without_axis: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, _KindText] = field(default_factory=dict)
    vocab: dict[str, int] = field(default_factory=dict)

    def add(self, doc: Document) -> None:
        self.documents += 1
        self.kind_documents[doc.kind] += 1
        seed = doc.provenance.seed
        genre = seed.get("genre")
        self.without_genre += not genre
        axis = next((a for a in AXES if isinstance(seed.get(a), str) and seed[a].strip()), None)
        if axis is None:
            self.without_axis[doc.kind] += 1
        else:
            self.axis_names.setdefault(doc.kind, Counter())[axis] += 1
        for pid in doc.principle_ids:
            if pid not in self.known:
                self.unknown[pid] += 1
                continue
            self.by_kind[pid, doc.kind] += 1
            if genre:
                self.by_genre[pid, str(genre)] += 1
            if axis is not None:
                self.by_axis[doc.kind, pid, seed[axis].strip()] += 1
        if self.diversity:
            self._text(doc)

    def _text(self, doc: Document) -> None:
        entry = self.kinds.setdefault(doc.kind, _KindText())
        entry.documents += 1
        words = _WORD.findall(doc.text.lower())
        ids = np.fromiter((self.vocab.setdefault(w, len(self.vocab)) for w in words), np.int64)
        if len(self.vocab) >= _BASE:
            raise InputError(f"diversity: more than {_BASE} distinct words; cannot pack n-grams")
        for n, grams in enumerate(entry.grams, start=1):
            if len(ids) >= n:
                codes = sum(ids[i : len(ids) - n + 1 + i] * _BASE ** (n - 1 - i) for i in range(n))
                grams.add(np.asarray(codes, dtype=np.int64))
        opener = opening_ngram(doc.text)
        if opener:
            entry.openers[opener] += 1
        entry.sample[doc.id] = doc.text
        if len(entry.sample) > 2 * SPREAD_SAMPLE:
            entry.sample = {k: entry.sample[k] for k in sorted(entry.sample)[:SPREAD_SAMPLE]}


def tally_corpus(
    source: str, paths: Iterable[Path], principles: Iterable[str], *, diversity: bool
) -> CorpusTally:
    """Read every document under `paths` once into one tally named `source`."""
    tally = CorpusTally(source, frozenset(principles), diversity)
    for path in paths:
        for doc in read_documents(path):
            tally.add(doc)
    return tally


def _matrix(counts: Counter[tuple[str, str]], rows: list[str], cols: list[str]) -> Any:
    """Rows by columns; every cell present when `cols` is given, else only non-zero ones."""
    if cols:
        return {r: {c: counts[r, c] for c in cols} for r in rows}
    return {r: {c: n for (row, c), n in sorted(counts.items()) if row == r} for r in rows}


def _axes(passes: list[CorpusTally]) -> dict[str, Any]:
    """Per kind: the seed attribute its documents vary along, and that attribute's values."""
    axes = {}
    for kind in sorted({k for p in passes for k in p.axis_names}):
        names: Counter[str] = Counter()
        for p in passes:
            names.update(p.axis_names.get(kind, {}))
        attribute = min(names, key=lambda a: (-names[a], AXES.index(a)))
        values = sorted(
            {v for p in passes for (k, _, v) in p.by_axis if k == kind},
            key=lambda v: (v.casefold(), v),
        )
        axes[kind] = {"attribute": attribute, "values": values}
    return axes


def _by_kind_axis(tally: CorpusTally, principles: list[str]) -> dict[str, Any]:
    """kind -> principle -> {value: count}, non-zero cells only."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for kind in sorted(tally.axis_names):
        rows: dict[str, dict[str, int]] = {p: {} for p in principles}
        for (k, pid, value), n in sorted(tally.by_axis.items()):
            if k == kind:
                rows[pid][value] = n
        out[kind] = rows
    return out


def coverage_figures(
    principles: list[str], generated: CorpusTally | None, final: CorpusTally | None
) -> Any:
    """Principle x kind, x genre and x each kind's own axis (`axes`) counts of each
    corpus; gaps are zero kind cells of final."""
    passes = [p for p in (generated, final) if p is not None]
    if not passes:
        return dict(NOT_RUN)
    kinds = sorted({k for p in passes for k in p.kind_documents})
    genres = sorted({g for p in passes for _, g in p.by_genre})

    def block(tally: CorpusTally | None) -> Any:
        if tally is None:
            return dict(NOT_RUN)
        return ran(
            documents=tally.documents,
            documents_by_kind=dict(sorted(tally.kind_documents.items())),
            by_kind=_matrix(tally.by_kind, principles, kinds),
            by_genre=_matrix(tally.by_genre, principles, []),
            without_genre=tally.without_genre,
            by_kind_axis=_by_kind_axis(tally, principles),
            without_axis=dict(sorted(tally.without_axis.items())),
            unknown_principles=dict(sorted(tally.unknown.items())),
        )

    # The kinds the build set out to write; external text (the principles) is no gap.
    wanted = sorted(set(passes[0].kind_documents) - {"external"})
    over = passes[-1]
    gaps = [
        {"principle": p, "kind": k} for p in principles for k in wanted if not over.by_kind[p, k]
    ]
    return ran(
        principles=principles,
        kinds=kinds,
        genres=genres,
        axes=_axes(passes),
        generated=block(generated),
        final=block(final),
        gaps=gaps,
        gaps_over=over.source,
    )


def _spread(sample: dict[str, str], cache: EmbeddingCache | None) -> float | None:
    """Mean pairwise cosine distance of the sampled documents' embeddings."""
    ids = sorted(sample)[:SPREAD_SAMPLE]
    if cache is None or len(ids) < 2:
        return None
    vectors = cache.get_or_embed(ids, [sample[i] for i in ids]).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.where(norms == 0, 1.0, norms)
    sims = vectors @ vectors.T
    n = len(ids)
    return round(1.0 - float(sims.sum() - np.trace(sims)) / (n * (n - 1)), 4)


def diversity_figures(tally: CorpusTally | None, cache: EmbeddingCache | None) -> Any:
    """Per kind: distinct n-gram ratios, top openers, and the embedding spread (with a cache)."""
    if tally is None:
        return dict(NOT_RUN)
    kinds = {}
    for kind, entry in sorted(tally.kinds.items()):
        top = sorted(entry.openers.items(), key=lambda item: (-item[1], item[0]))[:TOP_OPENERS]
        kinds[kind] = {
            "documents": entry.documents,
            "distinct_1grams": entry.grams[0].ratio(),
            "distinct_2grams": entry.grams[1].ratio(),
            "distinct_3grams": entry.grams[2].ratio(),
            "top_openers": [{"opener": text, "count": count} for text, count in top],
            "embedding_spread": _spread(entry.sample, cache),
            "spread_sample": min(len(entry.sample), SPREAD_SAMPLE) if cache is not None else 0,
        }
    return ran(over=tally.source, kinds=kinds)
