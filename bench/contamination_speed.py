"""Contamination check speed: the n-gram scan against plain Python, and the semantic
stage on 10,000 documents with at least 2,000 eval items, first run and second.

The semantic stage's time is a full check's minus an n-gram-only check's on the
same corpus. The first run starts from an empty embedding cache; the second
finds every eval unit's vectors in one cache row per eval set, and the windows
it reads by their text. Eval items are the shared real evals (1,953 items)
beside the benchmark's own, or, without /work/shared/data, the benchmark's
own repeated with a number to make them distinct. `CCORPUS_BENCH_FULL=1`
adds a run at 10,000 eval items.
"""

from __future__ import annotations

import os
import random
import string
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.contamination_data import real_items, speed_docs
from toolkit.contamination import CheckOptions, EvalItem, NgramIndex, check_contamination
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache, embed, load_static_model
from toolkit.io import write_documents

_PUNCT = str.maketrans("", "", string.punctuation)
SPEED_DOCS = 10_000


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


def _ngram_speed(items: list[EvalItem], docs: list[Document]) -> None:
    size = sum(len(d.text.encode()) for d in docs) / 1e6
    index = NgramIndex(items)
    ours_s, hits = _best(lambda: list(index.scan(docs)), 3)
    peer_s, peer_docs = _best(lambda: _python_ngrams(items, docs), 1)
    print(
        f"  n-gram scan, {len(docs)} docs, {size:.1f} MB, {len(items)} eval items "
        f"(docs with hits: ours {len({h.doc_id for h in hits})}, python {peer_docs})"
    )
    print(f"    ccorpus (numpy hashes): {size / ours_s:8.1f} MB/s")
    print(f"    python set of 13-grams: {size / peer_s:8.1f} MB/s")
    print(f"    speed ratio ccorpus/python: {peer_s / ours_s:.1f}x")


def _items(own: list[EvalItem], count: int) -> list[EvalItem]:
    """`count` items: the shared real evals and the benchmark's own, else the own ones
    repeated, each copy numbered so that no two are alike."""
    pool = [*real_items(), *own]
    out = list(pool[:count])
    copy = 0
    while len(out) < count:
        copy += 1
        out += [
            replace(it, eval=f"{it.eval}-{copy}", text=f"{it.text} ({copy})", parts=())
            for it in pool[: count - len(out)]
        ]
    return out


def _run(
    corpus: Path, items: list[EvalItem], cache: Path, *, semantic: bool
) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one check, and its result."""
    opts = CheckOptions(quiet=True, semantic=semantic)
    start, cpu = time.perf_counter(), time.process_time()
    with EmbeddingCache(cache) as store:
        result = check_contamination(corpus, items, options=opts, cache=store)
    return time.perf_counter() - start, time.process_time() - cpu, result


def main(own: list[EvalItem]) -> None:
    rng = random.Random(5)
    counts = [1000, 2053] + ([10_000] if os.environ.get("CCORPUS_BENCH_FULL") else [])
    docs = speed_docs(SPEED_DOCS, rng, _items(own, 2053))
    _ngram_speed(_items(own, 2053), docs)
    embed(["warm up the model"])  # load once, outside the timings
    load_static_model(quiet=False)  # distilled once per machine, outside the timings
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        write_documents(docs, corpus)
        print(
            f"  semantic stage on {len(docs)} documents ({mb:.1f} MB), wall seconds "
            "(a full check less an n-gram-only one):"
        )
        for count in counts:
            items = _items(own, count)
            ngram_s, ngram_cpu, _ = _run(corpus, items, Path(tmp) / f"none-{count}", semantic=False)
            runs = ["first", "second"] if count == 2053 else ["first"]
            for run in runs:
                load = os.getloadavg()[0]
                total, cpu, result = _run(
                    corpus, items, Path(tmp) / f"cache-{count}", semantic=True
                )
                stage, stage_cpu = max(total - ngram_s, 1e-9), max(cpu - ngram_cpu, 1e-9)
                print(
                    f"    {len(items):>6} items, {run:<6} run: {stage:6.1f} s wall "
                    f"({stage_cpu:.1f} CPU s), {mb / stage:5.2f} MB/s, "
                    f"{stage / len(items) * 1000:5.1f} s per 1,000 items; eval unit vectors "
                    f"{result.timings['unit_vectors_s']:.2f} s; windows read by MiniLM "
                    f"{result.semantic['verified']}; load average {load:.1f} on "
                    f"{os.cpu_count()} cores (target 0.25 MB/s)"
                )
