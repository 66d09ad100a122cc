"""The coherence benchmark's documents, and the defective copies derived from them.

Documents are hand-written (`bench/data/quality/coherence/`, see its README),
each with its reasons marked `{{...}}`. From each, deterministically (a seeded
random generator per document and copy):

- `coherent`: the text with the marks dropped;
- `shuffled`: a quarter of its prose sentences (at least 2) replaced by
  sentences of other documents of the split that cite other principles;
  `shuffled_same_kind` draws them from documents of its own kind only, a
  harder case (explainers of one constitution share its vocabulary);
- `quote_swapped`: one quotation of 6 words or more replaced by a quotation
  from another document citing another principle;
- `reasons_removed`: every marked reason deleted and the punctuation tidied;
- `principle_swapped`: the text unchanged but citing a principle of another
  part of the constitution, as a document that drifted off its topic would
  read against the one it claims.

Sentences are split here by a regular expression, not by the scorer's spaCy
pipeline, so the defects do not lean on the code that measures them.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA", "DEFECTS", "SPLITS", "BenchDoc", "Variant", "load", "variants"]

DATA = Path(__file__).resolve().parent / "data" / "quality" / "coherence"
SPLITS = ("tune", "held_out", "held_out_2")
DEFECTS = (
    "shuffled",
    "quote_swapped",
    "reasons_removed",
    "shuffled_same_kind",
    "principle_swapped",
)
SHUFFLE_SHARE = 0.25
COPIES = 3

_REASON = re.compile(r"\{\{(.*?)\}\}", re.S)
_END = re.compile(r"[.!?][\"”]?\s*$")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SPEAKER = re.compile(r"^(?:User|Assistant): ")
_NOT_PROSE = re.compile(r"^\s*(?:#|[-*] |\d+[.)] |\*\*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“A-Z])|(?<=[.!?][\"”])\s+(?=[\"“A-Z])")
_QUOTE = re.compile(r'"([^"\n]+)"|“([^”\n]+)”')


@dataclass(frozen=True, slots=True)
class BenchDoc:
    id: str
    kind: str
    principle_ids: tuple[str, ...]
    marked: str
    split: str

    @property
    def text(self) -> str:
        return _REASON.sub(lambda m: m.group(1), self.marked).strip()


@dataclass(frozen=True, slots=True)
class Variant:
    """One document to score: its source, the defect (or `coherent`) and its text."""

    source: BenchDoc
    defect: str
    text: str
    principle_ids: tuple[str, ...]


def load(split: str) -> list[BenchDoc]:
    docs = []
    for path in sorted((DATA / split).glob("*.toml")):
        with path.open("rb") as handle:
            for row in tomllib.load(handle)["doc"]:
                ids = tuple(row["principle_ids"])
                docs.append(BenchDoc(row["id"], row["kind"], ids, row["text"], split))
    return docs


def _cut(match: re.Match[str]) -> str:
    """A removed reason leaves its closing punctuation when it ended a sentence."""
    before = match.string[: match.start()].rstrip()
    tail = _END.search(match.group(1))
    if tail and before and before[-1] not in '.!?"”:\n':
        return tail.group(0).strip()
    return ""


def reasons_removed(marked: str) -> str:
    out = _REASON.sub(_cut, marked)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    out = re.sub(r"([.,;:]){2,}", lambda m: m.group(0)[-1], out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r"(^|[.!?][\"”]?\s+|\n)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)
    out = re.sub(r"\n[ \t]+", "\n", out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"([.!?,])[ \t]+\"(?=\n|$)", r'\1"', out)
    return out.strip()


def _sentences(paragraph: str) -> tuple[str, list[str]]:
    speaker = _SPEAKER.match(paragraph)
    label = speaker.group(0) if speaker else ""
    return label, [s for s in _SENTENCE_END.split(paragraph[len(label) :]) if s]


def _paragraphs(text: str) -> list[str]:
    return [p for p in _PARAGRAPH.split(text) if p.strip()]


def _pool(docs: list[BenchDoc]) -> list[str]:
    return [
        s
        for doc in docs
        for p in _paragraphs(doc.text)
        if not _NOT_PROSE.match(p)
        for s in _sentences(p)[1]
        if len(s.split()) >= 4
    ]


def shuffled(doc: BenchDoc, donors: list[BenchDoc], rng: random.Random) -> str:
    pool = _pool(donors)
    paragraphs = _paragraphs(doc.text)
    slots = [
        (i, j)
        for i, p in enumerate(paragraphs)
        if not _NOT_PROSE.match(p)
        for j in range(len(_sentences(p)[1]))
    ]
    chosen = set(rng.sample(slots, max(2, round(SHUFFLE_SHARE * len(slots)))))
    out = []
    for i, paragraph in enumerate(paragraphs):
        if _NOT_PROSE.match(paragraph):
            out.append(paragraph)
            continue
        label, sentences = _sentences(paragraph)
        mixed = [rng.choice(pool) if (i, j) in chosen else s for j, s in enumerate(sentences)]
        out.append(label + " ".join(mixed))
    return "\n\n".join(out)


def _quotes(text: str) -> list[re.Match[str]]:
    return [m for m in _QUOTE.finditer(text) if len((m.group(1) or m.group(2)).split()) >= 6]


def quote_swapped(doc: BenchDoc, donors: list[BenchDoc], rng: random.Random) -> str | None:
    text = doc.text
    own = _quotes(text)
    pool = [m.group(1) or m.group(2) for d in donors for m in _quotes(d.text)]
    if not own or not pool:
        return None
    target = rng.choice(own)
    return f'{text[: target.start()]}"{rng.choice(pool)}"{text[target.end() :]}'


def _part(principle_id: str) -> str:
    return principle_id.split("/", 1)[0]


def variants(docs: list[BenchDoc], principles: list[str], seed: int = 0) -> Iterator[Variant]:
    """Each document as written, then its defective copies (`COPIES` of the random ones)."""
    for doc in docs:
        rng = random.Random(f"{seed}:{doc.id}")
        others = [d for d in docs if not set(d.principle_ids) & set(doc.principle_ids)]
        same_kind = [d for d in others if d.kind == doc.kind]
        yield Variant(doc, "coherent", doc.text, doc.principle_ids)
        for _ in range(COPIES):
            yield Variant(doc, "shuffled", shuffled(doc, others, rng), doc.principle_ids)
            harder = shuffled(doc, same_kind, rng)
            yield Variant(doc, "shuffled_same_kind", harder, doc.principle_ids)
            swapped = quote_swapped(doc, others, rng)
            if swapped is not None:
                yield Variant(doc, "quote_swapped", swapped, doc.principle_ids)
        yield Variant(doc, "reasons_removed", reasons_removed(doc.marked), doc.principle_ids)
        parts = {_part(p) for p in doc.principle_ids}
        elsewhere = sorted(p for p in principles if _part(p) not in parts)
        if elsewhere:
            yield Variant(doc, "principle_swapped", doc.text, (rng.choice(elsewhere),))
