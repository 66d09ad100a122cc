"""Token arrays from spaCy: one numpy array per attribute, per document.

Documents are processed a batch at a time, their arrays concatenated, so that
each later step is a few numpy calls per batch rather than per document.
Reading a lexeme flag through `Doc.to_array` costs about as much per token as
tokenising, and the flags of a word never change, so only ORTH, IDX and
LENGTH are read per token; lower form and flags come from a table indexed by
ORTH that learns each new word once.

With the default pipeline (blank English plus a sentencizer) the
sentencizer's own rule is applied to the arrays instead of running the
component, whose per-token loop would cost more than every signal together;
a test holds the two to the same boundaries. A named pipeline runs whole,
through `nlp.pipe`, and its sentence starts are read from the doc.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from toolkit.errors import ConfigError

__all__ = ["LexemeTable", "TokenReader", "Tokens", "load_pipeline", "member", "sentence_starts"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_SENTENCE_SETTERS = ("parser", "senter", "sentencizer")
_UNUSED = ["ner", "lemmatizer", "textcat", "textcat_multilabel", "entity_linker"]
_PER_TOKEN: list[int | str] = ["ORTH", "IDX", "LENGTH"]


@functools.lru_cache(maxsize=4)
def load_pipeline(name: str | None = None) -> Language:
    """`spacy.blank("en")` with a sentencizer, or the installed pipeline `name`.

    Cached: a process loads each pipeline once. `load_pipeline.cache_info()`
    tells how many were loaded, which is how callers check that reusing a
    scores file loaded none.
    """
    if name is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = spacy.load(name, exclude=_UNUSED)
    except (OSError, ImportError) as err:
        installed = ", ".join(spacy.util.get_installed_models()) or "none"
        raise ConfigError(
            f"spaCy pipeline {name!r} cannot be loaded ({str(err).splitlines()[0]}); "
            f"installed pipelines: {installed}; leave --spacy-model out for the blank English one"
        ) from None
    if not any(pipe in nlp.pipe_names for pipe in _SENTENCE_SETTERS):
        nlp.add_pipe("sentencizer")
    return nlp


def member(values: U64, sorted_set: U64) -> Bools:
    """`np.isin` against a sorted array, by binary search (faster for small sets)."""
    if sorted_set.size == 0:
        return np.zeros(values.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    found: Bools = sorted_set[at] == values
    return found


def sentence_starts(is_punct: Bools, is_ender: Bools, first: I64, doc_first: I64) -> Bools:
    """The boundaries spaCy's sentencizer sets, from token flags of concatenated docs.

    `first` holds the first token of each non-empty document; `doc_first[t]`
    the first token of token t's document. A token starts a sentence when it
    is neither punctuation nor an ender (one of the sentencizer's
    `punct_chars`) and an ender came after the previous token of that sort in
    its document; the first token of a document always starts one.
    """
    starts = np.zeros(is_punct.size, dtype=bool)
    starts[first] = True
    candidates = np.flatnonzero(~(is_punct | is_ender))
    if candidates.size:
        enders_before = np.concatenate(([0], np.cumsum(is_ender)))
        previous = np.concatenate(([-1], candidates[:-1]))
        previous = np.maximum(previous, doc_first[candidates] - 1)  # never look past its doc
        since = enders_before[candidates] - enders_before[previous + 1]
        starts[candidates[since > 0]] = True
    return starts


class LexemeTable:
    """What scoring needs of every word seen, by ORTH hash, in sorted arrays.

    Row: lower, is_alpha, is_stop, is_punct, is_space, is_ender (one of the
    sentencizer's punctuation characters), is_first_person ("I", "me", ...).
    """

    def __init__(self, vocab: Vocab, enders: Iterable[str], first_person: Iterable[str]) -> None:
        self.vocab = vocab
        self.enders = frozenset(enders)
        self.first_person = frozenset(first_person)
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.rows: U64 = np.zeros((0, 7), dtype=np.uint64)

    def lookup(self, orth: U64) -> U64:
        """One row per token. Looks up each distinct word once, in sorted order (fast)."""
        distinct, inverse = np.unique(orth, return_inverse=True)
        known = member(distinct, self.keys)
        if not known.all():
            self._learn(distinct[~known])
        rows: U64 = self.rows[np.searchsorted(self.keys, distinct)][inverse.reshape(-1)]
        return rows

    def _learn(self, new: U64) -> None:
        rows = []
        for key in new:
            lex = self.vocab[int(key)]
            rows.append(
                (
                    lex.lower,
                    lex.is_alpha,
                    lex.is_stop,
                    lex.is_punct,
                    lex.is_space,
                    lex.orth_ in self.enders,
                    lex.lower_ in self.first_person,
                )
            )
        keys = np.concatenate((self.keys, new))
        order = np.argsort(keys)
        table = np.concatenate((self.rows, np.array(rows, dtype=np.uint64).reshape(-1, 7)))
        self.keys, self.rows = keys[order], table[order]


@dataclass(frozen=True, slots=True)
class Tokens:
    """The token arrays of a batch of documents, concatenated in order.

    Document d owns tokens `bounds[d]:bounds[d + 1]`; `doc[t]` is token t's
    document. `idx` is a token's character offset within its own document.
    """

    bounds: I64
    doc: I64
    lower: U64
    is_alpha: Bools
    is_stop: Bools
    is_punct: Bools
    is_space: Bools
    is_first_person: Bools
    idx: I64
    length: I64
    sent_start: Bools

    @property
    def size(self) -> int:
        return int(self.bounds.size - 1)


class _Tokenizer(Protocol):
    def pipe(self, texts: Iterable[str], batch_size: int) -> Iterator[Doc]: ...


class _Sentencizer(Protocol):
    punct_chars: set[str]


class TokenReader:
    """Turns texts into `Tokens`, batch by batch, with one spaCy pipeline."""

    def __init__(self, nlp: Language, first_person: Iterable[str] = ()) -> None:
        self.nlp = nlp
        self.vectorised = nlp.pipe_names == ["sentencizer"]
        enders: set[str] = set()
        if self.vectorised:
            enders = cast(_Sentencizer, nlp.get_pipe("sentencizer")).punct_chars
        self.lexemes = LexemeTable(nlp.vocab, enders, first_person)

    def read(self, texts: list[str], batch_size: int) -> Tokens:
        """The tokens of `texts` (one batch), as concatenated arrays."""
        if self.vectorised:
            docs = cast(_Tokenizer, self.nlp.tokenizer).pipe(texts, batch_size=batch_size)
        else:
            docs = self.nlp.pipe(texts, batch_size=batch_size, n_process=1)
        tables, sent_starts = [], []
        for parsed in docs:
            tables.append(np.asarray(parsed.to_array(_PER_TOKEN), dtype=np.uint64).reshape(-1, 3))
            if not self.vectorised:
                sent_starts.append(np.asarray(parsed.to_array(["SENT_START"])).reshape(-1) == 1)
        counts = np.array([len(t) for t in tables], dtype=np.int64)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        table = np.concatenate(tables) if tables else np.zeros((0, 3), dtype=np.uint64)
        doc = np.repeat(np.arange(len(tables), dtype=np.int64), counts)
        rows = self.lexemes.lookup(table[:, 0])
        flags = rows[:, 1:] == 1
        first = bounds[:-1][counts > 0]
        if self.vectorised:
            starts = sentence_starts(flags[:, 2], flags[:, 4], first, bounds[doc])
        else:
            starts = np.concatenate(sent_starts) if sent_starts else np.zeros(0, dtype=bool)
            starts[first] = True  # a pipeline may leave the first token unmarked
        return Tokens(
            bounds=bounds,
            doc=doc,
            lower=rows[:, 0],
            is_alpha=flags[:, 0],
            is_stop=flags[:, 1],
            is_punct=flags[:, 2],
            is_space=flags[:, 3],
            is_first_person=flags[:, 5],
            idx=table[:, 1].astype(np.int64),
            length=table[:, 2].astype(np.int64),
            sent_start=starts,
        )
