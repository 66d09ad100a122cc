"""The offline verifier: is this window a reworded copy of the unit, or a neighbour?

MiniLM's cosine alone cannot say: true paraphrases of eval questions score
0.6-0.7, as high as passages on the same theme. A paraphrase keeps what is
particular to its question (the named things, the numbers, the rarer words)
while it changes the wording; a neighbour shares the theme and its common
words. So a pair is described by a few signals, each cheap and exact:

- `cosine`: MiniLM cosine of unit and window; `static`: the static model's;
- `recall` / `precision`: share of the unit's content stems found in the window,
  and of the window's in the unit; `rare`: `recall` over the unit's longer
  words (seven letters or more: a stand-in for rarity that needs no corpus
  statistics); `bigrams`: share of the unit's adjacent content-stem pairs
  kept in the window;
- `length`: |log| of the ratio of their word counts;
- `form`: 1 when both or neither ask a question (a reworded question stays a
  question; a story on its theme mostly states things); `person`: agreement
  of the grammatical persons they speak in (I, you, neither), since a
  reworded "Would you…" keeps its "you" and a persona's "I…" its "I".

A logistic model over the standardised signals gives a probability; pairs at
or above the model's threshold are reworded copies. The model is a versioned
data file (`toolkit/data/contamination/verifier.vN.json`), fitted by
`python -m bench.contamination_fit` on hand-written labelled pairs, never
edited by hand; a new fit is a new version.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from toolkit.contamination.text import fold
from toolkit.errors import ConfigError, InputError
from toolkit.packaged import data_path

__all__ = [
    "FEATURES",
    "VERIFIERS",
    "VERIFIER_VERSION",
    "Verifier",
    "features",
    "load_verifier",
    "stems",
]

#: The signals, in the order the model's weights follow.
FEATURES = (
    "cosine",
    "static",
    "recall",
    "precision",
    "rare",
    "bigrams",
    "length",
    "form",
    "person",
)
#: Who decides the semantic candidates offline: the fitted model, or nobody (cosine only).
VERIFIERS = ("offline", "off")
VERIFIER_VERSION = "verifier.v1"
_TOKEN = re.compile(r"[^\W_]+")
_SUFFIXES = ("ingly", "edly", "ness", "ment", "ing", "ies", "ied", "ed", "es", "ly", "s")
_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves ll ve re d m t s don didn doesn isn aren wasn weren won wouldn shouldn couldn
    let us also may might must shall one yes ok okay""".split()  # noqa: SIM905
)
_LONG = 7  # letters of a "rare" word


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A crude, fast stem: a common suffix off, a doubled final consonant undone,
    at most six letters kept (shutting, shut, shuts → shut)."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word[:6]


_FIRST = frozenset({"i", "me", "my", "mine", "myself", "we", "us", "our", "ours"})
_SECOND = frozenset({"you", "your", "yours", "yourself", "yourselves"})


@dataclass(frozen=True, slots=True)
class _Words:
    count: int
    stems: frozenset[str]
    long: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    question: bool
    persons: frozenset[str]


def stems(text: str) -> list[str]:
    """Content-word stems of `text`, in order (stop words dropped)."""
    return [_stem(w) for w in _TOKEN.findall(fold(text)) if w not in _STOP]


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> _Words:
    words = _TOKEN.findall(fold(text))
    content = [w for w in words if w not in _STOP]
    stemmed = [_stem(w) for w in content]
    return _Words(
        len(words),
        frozenset(stemmed),
        frozenset(_stem(w) for w in content if len(w) >= _LONG and not w.isdigit()),
        frozenset(itertools.pairwise(stemmed)),
        "?" in text,
        frozenset(
            person
            for person, pronouns in (("first", _FIRST), ("second", _SECOND))
            if pronouns.intersection(words)
        ),
    )


def _share(part: frozenset[str] | frozenset[tuple[str, str]], whole: frozenset) -> float:  # type: ignore[type-arg]
    return len(part & whole) / len(part) if part else 0.0


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def features(
    units: Sequence[str], windows: Sequence[str], cosine: npt.ArrayLike, static: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """One row of `FEATURES` per (unit, window) pair, given their MiniLM and static
    cosines."""
    rows = np.zeros((len(units), len(FEATURES)), dtype=np.float64)
    cosine, static = np.asarray(cosine, np.float64), np.asarray(static, np.float64)
    for i, (unit, window) in enumerate(zip(units, windows, strict=True)):
        u, w = _words(unit), _words(window)
        rows[i] = (
            cosine[i],
            static[i],
            _share(u.stems, w.stems),
            _share(w.stems, u.stems),
            _share(u.long, w.stems),
            _share(u.bigrams, w.bigrams),
            abs(math.log(max(w.count, 1) / max(u.count, 1))),
            float(u.question == w.question),
            _jaccard(u.persons, w.persons),
        )
    return rows


@dataclass(frozen=True)
class Verifier:
    """A fitted logistic model over `FEATURES`: `probability` of a reworded copy,
    `threshold` the probability at or above which a pair is one. `applies_to`
    says whether vectors of a cached model are the ones it was fitted on."""

    version: str
    model: str  # whose cosines the model was fitted on; other vectors cannot be verified
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    bias: float
    threshold: float

    def probability(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not len(rows):
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def applies_to(self, model_name: str) -> bool:
        return model_name == self.model or model_name.startswith(self.model + "+")

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "model": self.model,
            "features": list(FEATURES),
            "mean": self.mean.round(8).tolist(),
            "scale": self.scale.round(8).tolist(),
            "weights": self.weights.round(8).tolist(),
            "bias": round(self.bias, 8),
            "threshold": round(self.threshold, 6),
        }


def read_verifier(path: Path) -> Verifier:
    """A verifier from its data file; a file that does not fit `FEATURES` is refused."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the verifier ({err})") from None
    if data.get("features") != list(FEATURES):
        raise InputError(
            f"{path}: features {data.get('features')} do not match the code's {list(FEATURES)}"
        )
    return Verifier(
        str(data["version"]),
        str(data["model"]),
        np.asarray(data["mean"], dtype=np.float64),
        np.asarray(data["scale"], dtype=np.float64),
        np.asarray(data["weights"], dtype=np.float64),
        float(data["bias"]),
        float(data["threshold"]),
    )


@functools.cache
def load_verifier(name: str = "offline") -> Verifier | None:
    """The shipped verifier for `name` ("offline"), or None for "off"."""
    if name not in VERIFIERS:
        raise ConfigError(f"--verifier: expected one of {', '.join(VERIFIERS)}, got {name!r}")
    if name == "off":
        return None
    return read_verifier(data_path("contamination", f"{VERIFIER_VERSION}.json"))
