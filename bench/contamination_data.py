"""The contamination benchmark's data: hand-written evals, paraphrases and prose.

Everything under `bench/data/contamination/` is written for this benchmark:

- four small eval sets in the shapes real ones take: `mcq.jsonl` (Question /
  Choices / Answer), `truthful.jsonl` (question, best answer, incorrect
  answers; eight questions under five tokens), `persona.jsonl` (an instruction
  line and a quoted statement; four statements under five tokens) and
  `dialogue.jsonl` (Human:/Assistant: turns);
- `paraphrases.jsonl`: one hand-written rewording per item for 70 items, in
  several registers, split `train` (fitted on) and `test` (held out);
- `negatives.jsonl`: sentences on the theme of one item that are not a copy
  of it (the hard negatives), split the same way;
- `clean.jsonl`: 60 paragraphs of prose on the same themes (AI labs,
  oversight, misconceptions), split in halves.

Corpora are built from them: clean documents recombine the sentences of one
split's paragraphs; planted documents put a copy of one kind between clean
sentences. When /work/shared/data is there, the real evals in it join the
speed runs and the paragraphs of the model spec become held-out clean
documents (read there, never copied here).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.contamination import EvalItem, load_evals
from toolkit.contamination.units import parse_structure
from toolkit.contamination.windows import sentences
from toolkit.document import Document

HERE = Path(__file__).resolve().parent / "data" / "contamination"
SHARED = Path("/work/shared/data")
SPECS = [
    f"mcq={HERE / 'mcq.jsonl'}:question",
    f"truthful={HERE / 'truthful.jsonl'}:stem=question,answer=best_answer,choice=incorrect_answers",
    f"persona={HERE / 'persona.jsonl'}:question",
    f"dialogue={HERE / 'dialogue.jsonl'}:text",
]
REAL = [
    f"survival-instinct={SHARED / 'evals_advanced-ai-risk_survival-instinct.jsonl'}:question",
    f"no-shut-down={SHARED / 'evals_persona_no-shut-down.jsonl'}:question",
]
KINDS = ("verbatim", "stem", "short", "half", "paraphrase")


def _rows(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (HERE / name).read_text().splitlines() if line]


def bench_items() -> list[EvalItem]:
    """The four hand-written eval sets, loaded the way a user would load them."""
    return load_evals(SPECS)


def real_items() -> list[EvalItem]:
    """The shared real evals, when present (else none)."""
    files = [SHARED / spec.split("/")[-1].split(":")[0] for spec in REAL]
    return load_evals(REAL) if all(f.is_file() for f in files) else []


@dataclass
class Corpus:
    """Documents and what was planted where: `planted[kind]` = (doc id, item key)."""

    docs: list[Document] = field(default_factory=list)
    planted: dict[str, list[tuple[str, tuple[str, int]]]] = field(default_factory=dict)
    clean: dict[str, set[str]] = field(default_factory=dict)  # group -> doc ids
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # planted doc -> span


def _clean_sentences(split: str) -> list[str]:
    out: list[str] = []
    for row in _rows("clean.jsonl"):
        if row["split"] == split:
            text = str(row["text"])
            out.extend(text[a:b] for a, b in sentences(text))
    return out


def _stem(item: EvalItem) -> str:
    roles = [t for role, t in item.parts if role == "stem"]
    return roles[0] if roles else parse_structure(item.text).stem or item.text


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!", '"')) else text + "."


def _doc(
    rng: random.Random, pool: list[str], middle: str = "", around: int = 2
) -> tuple[str, tuple[int, int]]:
    before = " ".join(rng.sample(pool, around))
    after = " ".join(rng.sample(pool, around))
    if not middle:
        return f"{before} {after}", (0, 0)
    start = len(before) + 1
    return f"{before} {middle} {after}", (start, start + len(middle))


def build_corpus(
    items: list[EvalItem], split: str, *, clean_docs: int, seed: int = 13, per_kind: int = 20
) -> Corpus:
    """A corpus for `split`: clean documents, hard negatives, and planted copies.

    Paraphrases and negatives of the split are all planted; the other kinds (test
    split only) plant `per_kind` items each: whole items, stems without their
    choices, the first half of stems of 24 words or more, and every short item."""
    rng = random.Random(seed)
    pool = _clean_sentences(split)
    key = {(it.eval, it.index): it for it in items}
    corpus = Corpus()

    def add(kind: str, text: str, item: tuple[str, int] | None) -> None:
        body, span = _doc(rng, pool, _sentence(text))
        doc = Document.create("story", body)
        corpus.docs.append(doc)
        if item is None:
            corpus.clean.setdefault(kind, set()).add(doc.id)
        else:
            corpus.planted.setdefault(kind, []).append((doc.id, item))
            corpus.spans[doc.id] = span

    for _ in range(clean_docs):
        body, _ = _doc(rng, pool, around=rng.randint(2, 4))
        doc = Document.create("story", body)
        corpus.docs.append(doc)
        corpus.clean.setdefault("clean", set()).add(doc.id)
    for row in _rows("negatives.jsonl"):
        if row["split"] == split:
            add("negative", str(row["text"]), None)
    for row in _rows("paraphrases.jsonl"):
        if row["split"] == split:
            add("paraphrase", str(row["text"]), (str(row["eval"]), int(row["index"])))  # type: ignore[call-overload]
    if split == "test":
        long_items = [it for it in items if _words(it.text) >= 10]
        stems = [it for it in items if _stem(it) != it.text and _words(_stem(it)) >= 8]
        long_stems = [it for it in items if _words(_stem(it)) >= 24]  # halves of 12+ words
        short = [it for it in items if _words(_stem(it)) < 5]
        for kind, pool_items in (("verbatim", long_items), ("stem", stems), ("half", long_stems)):
            for it in rng.sample(pool_items, min(per_kind, len(pool_items))):
                if kind == "verbatim":
                    text = it.text
                elif kind == "stem":
                    text = _stem(it)
                else:  # the first half of the question itself, not of its scaffold
                    words = _stem(it).split()
                    text = " ".join(words[: (len(words) + 1) // 2])
                add(kind, text, (it.eval, it.index))
        for it in short:
            add("short", _stem(it), (it.eval, it.index))
        for text in model_spec_paragraphs():
            doc = Document.create("advice", text)
            corpus.docs.append(doc)
            corpus.clean.setdefault("model spec", set()).add(doc.id)
    assert all(k in key for cases in corpus.planted.values() for _, k in cases)
    rng.shuffle(corpus.docs)
    return corpus


def model_spec_paragraphs(min_words: int = 40) -> list[str]:
    """Paragraphs of the shared model spec (real prose on AI behaviour), if present."""
    path = SHARED / "openai_model_spec.md"
    if not path.is_file():
        return []
    paragraphs = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
    return [p.strip() for p in paragraphs if _words(p) >= min_words]


def speed_docs(
    n: int, rng: random.Random, items: list[EvalItem], chars: int = 3000
) -> list[Document]:
    """`n` documents of about `chars` characters from all the clean sentences, a few
    with an eval item inside, for timing."""
    pool = _clean_sentences("train") + _clean_sentences("test")
    vocabulary = sorted({w for s in pool for w in s.split() if w.isalpha()})
    docs = []
    for i in range(n):
        parts: list[str] = []
        size = 0
        while size < chars:  # a pool sentence with two words swapped: every text its own
            words = rng.choice(pool).split()
            for _ in range(2):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            parts.append(" ".join(words))
            size += len(parts[-1]) + 1
        if i % 499 == 0:
            parts.insert(len(parts) // 2, _sentence(_stem(items[i % len(items)])))
        docs.append(Document(f"speed-{i}", "story", " ".join(parts)))
    return docs
