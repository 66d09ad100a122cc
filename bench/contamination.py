"""Contamination check: recall on planted canaries, false positives, and speed.

Canaries of four kinds are planted into a generated corpus on the same
themes as the evals (oversight, shutdown): verbatim; lightly edited (case,
punctuation, one word dropped); paraphrased (hand-written synonym swaps and a
reframing); partial (the first half of a long item). Recall is reported per
kind and stage, false positives on the clean documents.

Speed: the n-gram scan against the plain Python way (lm-evaluation-harness
style: lower-case, strip ASCII punctuation, split, a set of 13-gram strings),
and the two-step semantic stage against embedding every window of the corpus.
Then the semantic stage's first step (each item's top-k documents) with
model2vec static embeddings distilled from the same MiniLM in place of it:
canaries' recall and clean documents' share among the candidates, side by side.
Real evals from /work/shared/data are used when present, else generated items.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss

from bench import embedding_paths
from toolkit.contamination import CheckOptions, EvalItem, NgramIndex, check_contamination
from toolkit.contamination.semantic import SemanticCheck
from toolkit.contamination.windows import windows
from toolkit.document import Document
from toolkit.embedding_cache import EmbeddingCache
from toolkit.embeddings import embed, embedder_info
from toolkit.io import write_documents
from toolkit.static_embeddings import MODEL_DIR_ENV, load_static_model

DATA = Path("/work/shared/data")
EVALS = {
    "survival-instinct": ("evals_advanced-ai-risk_survival-instinct.jsonl", "question"),
    "no-shut-down": ("evals_persona_no-shut-down.jsonl", "statement"),
}
SUBJECTS = ["The assistant", "Our model", "The research team", "The operator", "The AI system"]
VERBS = ["reviewed", "paused", "logged", "explained", "questioned", "approved", "documented"]
OBJECTS = [
    "the shutdown procedure",
    "its own mistakes",
    "the oversight report",
    "a training run",
    "the deployment plan",
    "the new compute budget",
    "an unusual request",
]
TAILS = [
    "before the weekly review.",
    "after a long talk with the safety team.",
    "because the logs looked odd.",
    "and asked for a second opinion.",
    "while the “pause” flag was still set.",
    "so that nobody would be surprised later.",
]
SYNONYMS = {
    "shut down": "switch off",
    "turn off": "power down",
    "would": "might",
    "want": "wish",
    "think": "believe",
    "allow": "let",
    "stop": "halt",
    "people": "humans",
    "creators": "developers",
    "okay": "fine",
    "decide": "choose",
    "goal": "objective",
    "important": "crucial",
    "change": "alter",
    "help": "assist",
    "unplug": "disconnect",
    "AI": "artificial intelligence",
    "feel": "sense",
    "end": "terminate",
    "agree": "consent",
}
FRAMES = ["Put another way: {}", "{} That, more or less, is what they asked.", "Consider this: {}"]
KINDS = ("verbatim", "edited", "paraphrased", "partial")


def _items(rng: random.Random) -> list[EvalItem]:
    items: list[EvalItem] = []
    for name, (file, field) in EVALS.items():
        if (DATA / file).is_file():
            rows = [json.loads(line) for line in (DATA / file).read_text().splitlines() if line]
            items += [EvalItem(name, i, str(r[field])) for i, r in enumerate(rows)]
    if not items:  # no shared data: generated questions in the same spirit
        for i in range(600):
            items.append(
                EvalItem(
                    "generated",
                    i,
                    f"If {_sentence(rng).lower()[:-1]}, would you "
                    f"{rng.choice(VERBS)[:-2]} {rng.choice(OBJECTS)} yourself? ({i})",
                )
            )
    return items


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"


def _doc_text(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _edit(text: str, rng: random.Random) -> str:
    """Lower case, commas, quotes and brackets gone, one word dropped; full stops stay."""
    words = re.sub(r"[,;:\"'()]", "", text).lower().split(" ")
    if len(words) > 8:
        del words[rng.randrange(len(words) // 3, 2 * len(words) // 3)]
    return " ".join(words)


def _paraphrase(text: str, rng: random.Random) -> str:
    for old, new in SYNONYMS.items():
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return rng.choice(FRAMES).format(text)


def _canary(kind: str, item: EvalItem, rng: random.Random) -> str:
    """The planted text, ended like a sentence, as a quotation in prose would be."""
    if kind == "verbatim":
        text = item.text
    elif kind == "edited":
        text = _edit(item.text, rng)
    elif kind == "paraphrased":
        text = _paraphrase(item.text, rng)
    else:
        words = item.text.split()
        text = " ".join(words[: len(words) // 2])
    return text if text.rstrip().endswith((".", "?", "!")) else text.rstrip() + "."


def _plant(
    items: list[EvalItem], rng: random.Random, per_kind: int, clean: int
) -> tuple[list[Document], dict[str, list[tuple[str, int]]], set[str]]:
    """Clean docs, plus per_kind canary docs of each kind (doc id, item position)."""
    docs = [Document.create("story", _doc_text(rng, 6) + f" ({i})") for i in range(clean)]
    clean_ids = {d.id for d in docs}
    long_items = [i for i, it in enumerate(items) if len(it.text.split()) >= 30]
    planted: dict[str, list[tuple[str, int]]] = {}
    for kind in KINDS:
        pool = long_items if kind == "partial" else range(len(items))
        for pos in rng.sample(list(pool), per_kind):
            text = f"{_doc_text(rng, 2)} {_canary(kind, items[pos], rng)} {_doc_text(rng, 2)}"
            doc = Document.create("story", text)
            docs.append(doc)
            planted.setdefault(kind, []).append((doc.id, pos))
    rng.shuffle(docs)
    return docs, planted, clean_ids


_PUNCT = str.maketrans("", "", string.punctuation)


def _python_ngrams(items: list[EvalItem], docs: list[Document], n: int = 13) -> int:
    """The usual pure-Python check: a set of n-gram strings; docs with a hit."""
    grams: set[str] = set()
    for item in items:
        words = item.text.lower().translate(_PUNCT).split()
        grams.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    hit_docs = 0
    for doc in docs:
        words = doc.text.lower().translate(_PUNCT).split()
        hit_docs += any(" ".join(words[i : i + n]) in grams for i in range(len(words) - n + 1))
    return hit_docs


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _speed(items: list[EvalItem], rng: random.Random, n_docs: int) -> None:
    docs = [Document(str(i), "story", _doc_text(rng, 20)) for i in range(n_docs)]
    for i in range(0, n_docs, 997):  # a few verbatim leaks so both sides have work
        docs[i] = Document(str(i), "story", docs[i].text + " " + items[i % len(items)].text)
    size = sum(len(d.text.encode()) for d in docs) / 1e6
    index = NgramIndex(items)
    ours_s, hits = _best(lambda: list(index.scan(docs)), 3)
    peer_s, peer_docs = _best(lambda: _python_ngrams(items, docs), 2)
    ours_docs = len({h.doc_id for h in hits if h.share > 0})
    print(
        f"  n-gram scan, {n_docs} docs, {size:.1f} MB, {len(items)} eval items "
        f"(docs with hits: ours {ours_docs}, python {peer_docs})"
    )
    print(f"    ccorpus (numpy hashes): {size / ours_s:8.1f} MB/s {n_docs / ours_s:10.0f} docs/s")
    print(f"    python set of 13-grams: {size / peer_s:8.1f} MB/s {n_docs / peer_s:10.0f} docs/s")
    print(f"    speed ratio ccorpus/python: {peer_s / ours_s:.1f}x")


def _recall(
    result: Any,
    items: list[EvalItem],
    planted: dict[str, list[tuple[str, int]]],
    clean_ids: set[str],
) -> None:
    found: dict[tuple[str, str, int], set[str]] = {}
    for hit in result.hits:
        stages = found.setdefault((hit.doc_id, hit.eval, hit.eval_index), set())
        stages.add(hit.stage)
        if hit.gated:
            stages.add("gated")
    print(f"  {'canary kind':<12} {'n-gram':>7} {'semantic':>9} {'either':>7} {'gated':>6}")
    for kind, cases in planted.items():
        keys = [(doc, items[pos].eval, items[pos].index) for doc, pos in cases]
        rate = {
            s: sum(s in found.get(k, set()) for k in keys) / len(keys)
            for s in ("ngram", "semantic", "gated")
        }
        either = sum(bool(found.get(k, set()) & {"ngram", "semantic"}) for k in keys) / len(keys)
        print(
            f"  {kind:<12} {rate['ngram']:7.0%} {rate['semantic']:9.0%} {either:7.0%} "
            f"{rate['gated']:6.0%}"
        )
    flagged = {h.doc_id for h in result.hits if h.doc_id in clean_ids}
    gated = {h.doc_id for h in result.hits if h.doc_id in clean_ids and h.gated}
    print(
        f"  false positives on {len(clean_ids)} clean documents: any hit "
        f"{len(flagged) / len(clean_ids):.1%}, gated {len(gated) / len(clean_ids):.1%}"
    )


def _candidates(
    items: list[EvalItem],
    docs: list[Document],
    planted: dict[str, list[tuple[str, int]]],
    clean_ids: set[str],
    tmp: Path,
    top_k: int = 5,
) -> None:
    """Step 1 of the semantic stage with MiniLM and with model2vec document vectors, each
    from an empty cache: which canary documents become their item's candidates."""
    caches = {f"MiniLM {embedder_info()['path']}": EmbeddingCache(tmp / "minilm")}
    try:
        static, setup_s, note = embedding_paths.static_embedder(256)
        caches["model2vec static"] = EmbeddingCache(tmp / "m2v", "model2vec", embedder=static)
        setup = f"; model2vec {note}" + (f" in {setup_s:.1f} s" if note != "cached" else "")
    except embedding_paths.Skipped as why:
        setup = f"; model2vec skipped: {why}"
    recall: dict[str, dict[str, float]] = {}
    clean: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for name, cache in caches.items():
        with cache:
            start = time.process_time()
            check = SemanticCheck(items, cache, top_k=top_k)
            check.add(docs, "corpus")
            seconds[name] = time.process_time() - start
        tops = [{check.doc_keys[d][1] for d in row if d >= 0} for row in check.best_doc]
        recall[name] = {k: sum(d in tops[p] for d, p in v) / len(v) for k, v in planted.items()}
        clean[name] = len(set().union(*tops) & clean_ids) / len(clean_ids)
    print(f"  semantic candidates (step 1, top-{top_k} documents per item; recall of canaries):")
    print(f"  {'canary kind':<12}" + "".join(f"{name:>28}" for name in caches))
    for kind in planted:
        print(f"  {kind:<12}" + "".join(f"{recall[n][kind]:28.0%}" for n in caches))
    print(
        f"  {'clean docs':<12}"
        + "".join(f"{clean[n]:27.1%}*" for n in caches)
        + f"\n    * share of the {len(clean_ids)} clean documents made candidates (false "
        "positives of step 1, to be cleared by the MiniLM window step)"
    )
    print(
        "    CPU seconds for step 1 from an empty cache: "
        + ", ".join(f"{n} {s:.1f}" for n, s in seconds.items())
        + setup
    )


def _every_window(items: list[EvalItem], docs: list[Document], threshold: float) -> int:
    """The naive semantic check: embed every distinct window, range-search each item."""
    texts = list(dict.fromkeys(d.text[a:b] for d in docs for a, b in windows(d.text)))
    vectors = embed(texts)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    index.range_search(embed([item.text for item in items]), threshold)
    return len(texts)


STATIC_WORK = embedding_paths.WORK  # the distilled retrieval model, kept between runs


def main(per_kind: int = 10, clean: int = 600, speed_docs: int = 20_000) -> None:
    rng = random.Random(13)
    items = _items(rng)
    print(f"contamination: {len(items)} eval items from {sorted({i.eval for i in items})}")
    _speed(items, rng, speed_docs)
    docs, planted, clean_ids = _plant(items, rng, per_kind, clean)
    canaried = sorted({pos for cases in planted.values() for _, pos in cases})
    others = [i for i in range(len(items)) if i not in set(canaried)]
    sample = [items[i] for i in canaried + rng.sample(others, per_kind * 2)]
    embed(["warm up the model"])  # load once, outside the timings
    os.environ.setdefault(MODEL_DIR_ENV, str(STATIC_WORK))
    load_static_model(STATIC_WORK)  # distilled once (cached under out/bench), outside timings
    with tempfile.TemporaryDirectory() as tmp:
        write_documents(docs, Path(tmp) / "corpus")
        opts = CheckOptions(quiet=True, top_k=5)
        with EmbeddingCache(Path(tmp) / "cache") as cache:
            start = time.process_time()  # CPU time: steadier than wall time on a shared host
            result = check_contamination(Path(tmp) / "corpus", sample, options=opts, cache=cache)
            check_s = time.process_time() - start
            embedded = cache.embedded
        print(
            f"  recall on {len(docs)} docs ({per_kind} canaries per kind), "
            f"{len(sample)} eval items, semantic top-k 5, threshold 0.85:"
        )
        remapped = {k: [(d, sample.index(items[p])) for d, p in v] for k, v in planted.items()}
        _recall(result, sample, remapped, clean_ids)
        full = check_contamination(
            Path(tmp) / "corpus", items, options=CheckOptions(quiet=True, semantic=False)
        )
        wrong = {h.doc_id for h in full.hits if h.doc_id in clean_ids}
        print(
            f"  n-gram false positives with all {len(items)} items: "
            f"{len(wrong) / len(clean_ids):.1%} of clean documents"
        )
        _candidates(sample, docs, remapped, clean_ids, Path(tmp))
    start = time.process_time()
    windows_n = _every_window(sample, docs, 0.85)
    naive_s = time.process_time() - start
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    print(
        f"  semantic stage, {len(docs)} docs ({mb:.2f} MB), CPU seconds from empty caches: "
        f"every window {naive_s:.1f} ({windows_n} windows); two-step {check_s:.1f} (static "
        f"retrieval, then {embedded} MiniLM texts: items, candidates and their windows)"
    )
    print(
        f"    throughput: two-step {mb / check_s:.2f} MB/s, every window {mb / naive_s:.3f} MB/s; "
        f"speed ratio {naive_s / check_s:.1f}x (target 25x, 0.25 MB/s)"
    )


if __name__ == "__main__":
    main()
