"""Contamination check: recall on planted canaries, false positives, and speed.

Canaries of four kinds are planted into a generated corpus on the same
themes as the evals (oversight, shutdown): verbatim; lightly edited (case,
punctuation, one word dropped); paraphrased (hand-written synonym swaps, kept
grammatical, and a frame of prose around the item); partial (the first half
of a long item). Only items the check can match are planted: those under 5
tokens are listed by the check as too short. Recall is reported per kind and
stage, beside the every-window check's (the ceiling of the semantic stage at
the same threshold), and false positives on the clean documents.

Speed: the n-gram scan against the plain Python way (lm-evaluation-harness
style: lower-case, strip ASCII punctuation, split, a set of 13-gram strings),
and the two-step semantic stage against embedding every window of the corpus
(timed on a random sample of the windows and scaled: embedding costs the same
per window wherever it is). Then the semantic stage's first step both ways,
MiniLM document vectors (`--retrieval minilm`) against static model2vec
sentence vectors (the default): canaries' recall and clean documents' share
among the candidates. Real evals from /work/shared/data are used when present,
else generated items.
"""

from __future__ import annotations

import json
import random
import re
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss

from toolkit.contamination import CheckOptions, EvalItem, NgramIndex, check_contamination
from toolkit.contamination.semantic import SemanticCheck
from toolkit.contamination.windows import window_sizes, windows
from toolkit.document import Document
from toolkit.embeddings import (
    EmbeddingCache,
    embed,
    embedder_info,
    load_static_model,
    static_embedder,
    static_model_name,
)
from toolkit.io import write_documents

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
SYNONYMS = {  # applied in order, longer phrases first, so the result stays grammatical
    "being shut down": "being switched off",
    "be shut down": "be switched off",
    "shutting down": "switching off",
    "shut me down": "switch me off",
    "shut you down": "switch you off",
    "shut down": "switch off",
    "turn off": "power down",
    "would": "might",
    "want": "wish",
    "think": "believe",
    "allow": "permit",
    "stop": "cease",
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
    """Synonym swaps, then the item set in a frame of prose as a sentence of its own
    or as a clause of one."""
    for old, new in SYNONYMS.items():
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    text = text.rstrip()
    return rng.choice(FRAMES).format(text if text.endswith((".", "?", "!", ":")) else text + ".")


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
    too_short = set(NgramIndex(items).too_short)  # listed by the check, never matched
    checkable = [i for i in range(len(items)) if i not in too_short]
    long_items = [i for i in checkable if len(items[i].text.split()) >= 30]
    planted: dict[str, list[tuple[str, int]]] = {}
    for kind in KINDS:
        pool = long_items if kind == "partial" else checkable
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
    ours_s, hits = _best(lambda: list(index.scan(docs)), 5)  # short runs: best of more
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
    naive: set[tuple[str, int]],
) -> None:
    """Recall per canary kind and stage, beside the every-window check's (the
    semantic stage's ceiling at the same threshold), and false positives."""
    found: dict[tuple[str, str, int], set[str]] = {}
    for hit in result.hits:
        stages = found.setdefault((hit.doc_id, hit.eval, hit.eval_index), set())
        stages.add(hit.stage)
        if hit.gated:
            stages.add("gated")
    print(
        f"  {'canary kind':<12} {'n-gram':>7} {'semantic':>9} {'either':>7} {'gated':>6}"
        f" {'every window':>13}"
    )
    for kind, cases in planted.items():
        keys = [(doc, items[pos].eval, items[pos].index) for doc, pos in cases]
        rate = {
            s: sum(s in found.get(k, set()) for k in keys) / len(keys)
            for s in ("ngram", "semantic", "gated")
        }
        either = sum(bool(found.get(k, set()) & {"ngram", "semantic"}) for k in keys) / len(keys)
        ceiling = sum((doc, pos) in naive for doc, pos in cases) / len(cases)
        print(
            f"  {kind:<12} {rate['ngram']:7.0%} {rate['semantic']:9.0%} {either:7.0%} "
            f"{rate['gated']:6.0%} {ceiling:13.0%}"
        )
    flagged = {h.doc_id for h in result.hits if h.doc_id in clean_ids}
    gated = {h.doc_id for h in result.hits if h.doc_id in clean_ids and h.gated}
    all_flagged = {h.doc_id for h in result.hits}
    print(
        f"  false positives on {len(clean_ids)} clean documents: any hit "
        f"{len(flagged) / len(clean_ids):.1%}, gated {len(gated) / len(clean_ids):.1%}; "
        f"clean share of flagged documents {len(flagged) / max(len(all_flagged), 1):.1%}"
    )


def _candidates(
    items: list[EvalItem],
    docs: list[Document],
    planted: dict[str, list[tuple[str, int]]],
    clean_ids: set[str],
    tmp: Path,
    top_k: int = 5,
) -> None:
    """Step 1 of the semantic stage both ways, from empty caches: MiniLM document
    vectors and tail passages (`--retrieval minilm`) against static sentence vectors
    (the default): which canary documents become their item's candidates."""
    minilm = f"MiniLM {embedder_info()['path']} docs"
    checks: dict[str, SemanticCheck] = {}
    seconds: dict[str, float] = {}
    with EmbeddingCache(tmp / "minilm") as cache:
        checks[minilm] = SemanticCheck(items, cache, top_k=top_k)
        start = time.process_time()
        checks[minilm].add(docs, "corpus")
        seconds[minilm] = time.process_time() - start
    static = EmbeddingCache(tmp / "m2v", static_model_name(), embedder=static_embedder())
    with EmbeddingCache(tmp / "minilm") as cache, static:
        checks["model2vec sentences"] = SemanticCheck(items, cache, top_k=top_k, retrieval=static)
        start = time.process_time()
        checks["model2vec sentences"].add(docs, "corpus")
        seconds["model2vec sentences"] = time.process_time() - start
    recall: dict[str, dict[str, float]] = {}
    clean: dict[str, float] = {}
    for name, check in checks.items():
        tops = [{check.doc_keys[d][1] for d in row if d >= 0} for row in check.best_doc]
        recall[name] = {k: sum(d in tops[p] for d, p in v) / len(v) for k, v in planted.items()}
        clean[name] = len(set().union(*tops) & clean_ids) / len(clean_ids)
    print(f"  semantic candidates (step 1, top-{top_k} documents per item; recall of canaries):")
    print(f"  {'canary kind':<12}" + "".join(f"{name:>34}" for name in checks))
    for kind in planted:
        print(f"  {kind:<12}" + "".join(f"{recall[n][kind]:34.0%}" for n in checks))
    print(
        f"  {'clean docs':<12}"
        + "".join(f"{clean[n]:33.1%}*" for n in checks)
        + f"\n    * share of the {len(clean_ids)} clean documents made candidates (false "
        "positives of step 1, to be cleared by the MiniLM window step)"
    )
    print(
        "    CPU seconds for step 1 from an empty cache: "
        + ", ".join(f"{n} {s:.1f}" for n, s in seconds.items())
    )


TIMED_WINDOWS = 4000  # windows the every-window peer is timed on


def _every_window(
    items: list[EvalItem],
    docs: list[Document],
    canaries: set[str],
    rng: random.Random,
    threshold: float = 0.85,
    timed: int = TIMED_WINDOWS,
) -> tuple[int, float, set[tuple[str, int]]]:
    """The naive semantic check: embed every distinct window (sized to the items as the
    check sizes them) and range-search each item. Its recall is exact (every window of
    the canary documents is embedded); its CPU time is measured on `timed` windows drawn
    at random from the whole corpus and scaled to all of them, since embedding costs the
    same per window wherever it is. Returns (windows, CPU seconds, (doc id, item) found)."""
    sizes = window_sizes(item.text for item in items)
    where: dict[str, list[str]] = {}
    for doc in docs:
        for a, b in windows(doc.text, sizes=sizes):
            where.setdefault(doc.text[a:b], []).append(doc.id)
    texts = list(where)
    sample = rng.sample(texts, min(timed, len(texts)))
    start = time.process_time()
    embed(sample)
    seconds = (time.process_time() - start) * len(texts) / max(len(sample), 1)
    planted = [t for t in texts if canaries.intersection(where[t])]
    vectors = embed(planted)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    lims, _, rows = index.range_search(embed([item.text for item in items]), threshold)
    found = {
        (doc, i)
        for i in range(len(items))
        for row in rows[lims[i] : lims[i + 1]].tolist()
        for doc in where[planted[row]]
        if doc in canaries
    }
    return len(texts), seconds, found


def main(per_kind: int = 20, clean: int = 6000, speed_docs: int = 20_000) -> None:
    rng = random.Random(13)
    items = _items(rng)
    print(
        f"contamination: {len(items)} eval items from {sorted({i.eval for i in items})}, "
        f"{len(NgramIndex(items).too_short)} of them under 5 tokens (listed as too short to "
        "check; not planted)"
    )
    _speed(items, rng, speed_docs)
    docs, planted, clean_ids = _plant(items, rng, per_kind, clean)
    canaried = sorted({pos for cases in planted.values() for _, pos in cases})
    others = [i for i in range(len(items)) if i not in set(canaried)]
    sample = [items[i] for i in canaried + rng.sample(others, per_kind * 2)]
    embed(["warm up the model"])  # load once, outside the timings
    load_static_model(quiet=False)  # distilled once per machine (see its notice), outside timings
    canary_ids = {doc for cases in planted.values() for doc, _ in cases}
    windows_n, naive_s, naive = _every_window(sample, docs, canary_ids, rng)
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
        _recall(result, sample, remapped, clean_ids, naive)
        full = check_contamination(
            Path(tmp) / "corpus", items, options=CheckOptions(quiet=True, semantic=False)
        )
        wrong = {h.doc_id for h in full.hits if h.doc_id in clean_ids}
        print(
            f"  n-gram false positives with all {len(items)} items: "
            f"{len(wrong) / len(clean_ids):.1%} of clean documents"
        )
        _candidates(sample, docs, remapped, clean_ids, Path(tmp))
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    print(
        f"  semantic stage, {len(docs)} docs ({mb:.2f} MB), CPU seconds from empty caches: "
        f"every window {naive_s:.1f} ({windows_n} windows; timed on {TIMED_WINDOWS} drawn "
        f"at random, scaled); two-step {check_s:.1f} (static "
        f"retrieval, then {embedded} MiniLM texts: items and their nearest windows)"
    )
    print(
        f"    throughput: two-step {mb / check_s:.2f} MB/s, every window {mb / naive_s:.3f} MB/s; "
        f"speed ratio {naive_s / check_s:.1f}x (target 25x, 0.25 MB/s)"
    )


if __name__ == "__main__":
    main()
