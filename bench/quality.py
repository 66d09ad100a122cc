"""Quality scoring throughput: ccorpus's one-pass scorer against the usual loop.

The peer is what people write by hand: `nlp(text)` per document (blank
English plus a sentencizer) and Python loops over the tokens for the basic
counts only (words, sentences, mean sentence length, stop-word and alphabetic
ratios). ccorpus computes every signal (repetition, phrases, endings,
deliberation, lexical grounding) through one batched pipe and array
operations, so it should be faster while doing much more. Embedding grounding
is timed separately, on the explainers it applies to. Figures are wall-clock
seconds, with the process's CPU seconds alongside, since a busy machine slows
the first but hardly the second.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from toolkit.constitution import Constitution, load_constitution
from toolkit.document import Document
from toolkit.quality import Scorer, load_pipeline, load_profile

SAMPLE = Path(__file__).resolve().parents[1] / "constitution" / "sample.md"
_WORD = re.compile(r"[A-Za-z']+")
_CUES = ["because", "I weighed", "that would mean", "the reason", "I chose", "rather than"]


def _corpus(constitution: Constitution, n: int, words: int = 500) -> list[Document]:
    """`n` documents of about `words` words: sentences drawn from the constitution's
    vocabulary, paragraphs, a reasoning cue now and then; kinds in turn."""
    vocab = _WORD.findall(constitution.source)
    principles = [p.id for p in constitution.principles()]
    rng = random.Random(0)
    docs = []
    for i in range(n):
        kind = ("explainer", "story", "advice")[i % 3]
        sentences, count = [], 0
        while count < words:
            length = rng.randint(8, 24)
            body = [rng.choice(vocab) for _ in range(length)]
            if rng.random() < 0.15:
                body[rng.randrange(length)] = rng.choice(_CUES)
            sentences.append(" ".join(body).capitalize() + ".")
            count += length
        paragraphs = [" ".join(sentences[j : j + 5]) for j in range(0, len(sentences), 5)]
        text = f"Document {i}. " + "\n\n".join(paragraphs)
        ids = [principles[i % len(principles)]] if kind == "explainer" else []
        docs.append(Document.create(kind, text, principle_ids=ids))
    return docs


def _peer(docs: list[Document]) -> int:
    """Per-document `nlp(text)` and token loops for the basic counts."""
    nlp = load_pipeline(None)
    done = 0
    for doc in docs:
        parsed = nlp(doc.text)
        words = [t for t in parsed if not t.is_punct and not t.is_space]
        sentences = sum(1 for s in parsed.sents if any(not t.is_punct for t in s))
        stop = sum(1 for t in words if t.is_stop) / max(len(words), 1)
        alpha = sum(1 for t in words if t.is_alpha) / max(len(words), 1)
        mean = len(words) / max(sentences, 1)
        done += bool(stop + alpha + mean >= 0)
    return done


def _ours(scorer: Scorer) -> Callable[[list[Document]], int]:
    return lambda docs: sum(1 for _ in scorer.score(docs))


def _measure(fn: Callable[[list[Document]], int], docs: list[Document]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    count = fn(docs)
    assert count == len(docs)
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(label: str, n: int, seconds: tuple[float, float]) -> str:
    wall, cpu = seconds
    return f"  {label:<44} {n / wall:8.0f} docs/s  ({n / cpu:6.0f} per CPU-second)"


def main(n: int = 10_000, grounded: int = 256) -> None:
    import torch

    torch.set_num_threads(1)  # one core, for the embedding model too
    constitution = load_constitution(SAMPLE)
    docs = _corpus(constitution, n)
    profile = load_profile()
    lexical = Scorer(profile, constitution=constitution, embeddings=False)
    embedded = Scorer(profile, constitution=constitution, embeddings=True)
    _ours(embedded)(docs[:30])  # load the embedding model and warm every path up
    _peer(docs[:30])

    peer = _measure(_peer, docs)
    ours = _measure(_ours(lexical), docs)
    explainers = [d for d in docs if d.kind == "explainer"][:grounded]
    with_embeddings = _measure(_ours(embedded), explainers)
    words = sum(len(d.text.split()) for d in docs) / n
    print(f"quality: {n} documents of ~{words:.0f} words, one process, one thread")
    print(_line("peer (nlp(text) per doc, basic counts only)", n, peer))
    print(_line("ccorpus Scorer, all signals, lexical grounding", n, ours))
    label = f"ccorpus Scorer + embedding grounding ({len(explainers)} expl.)"
    print(_line(label, len(explainers), with_embeddings))
    print(f"  speed ratio ccorpus/peer: {peer[0] / ours[0]:.2f}x (CPU: {peer[1] / ours[1]:.2f}x)")
    target = "meets" if n / ours[0] >= 500 else "misses"
    print(f"  target 500 docs/s without embeddings: {target}")


if __name__ == "__main__":
    main()
