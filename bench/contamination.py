"""Contamination check: recall per kind of copy, false positives, independence, speed.

The corpus and evals are the benchmark's own (`bench.contamination_data`):
four hand-written eval sets (multiple choice, question/answer, persona
statements, Human:/Assistant: turns) and, in documents of clean prose on the
same themes, copies of five kinds: the whole item verbatim; the stem without
its choices; short items (under five tokens) verbatim; the first half of an
item; and hand-written paraphrases of the held-out split (the verifier was
fitted on the other split only; `python -m bench.contamination_fit`). Recall
is printed per kind beside the every-window ceiling (every window of the
planted document read by MiniLM and the verifier: what retrieval can lose),
then false positives on clean documents, hand-written hard negatives and,
when /work/shared/data is there, the paragraphs of a real model spec.

Then the verifier on the held-out candidate pairs against the best raw
cosine threshold at the same false-positive rate; whether one eval's results
are identical alone and beside the others; and speed
(`bench.contamination_speed`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench import contamination_speed
from bench.contamination_data import KINDS, Corpus, bench_items, build_corpus
from bench.contamination_fit import candidate_pairs, labels
from toolkit.contamination import CheckOptions, EvalItem, build_report, check_contamination
from toolkit.contamination.matches import plan_units
from toolkit.contamination.verifier import features, load_verifier
from toolkit.contamination.windows import window_sizes, windows
from toolkit.embeddings import EmbeddingCache, embed, static_embedder
from toolkit.io import write_documents


def _found(result: Any) -> dict[tuple[str, str, int], set[str]]:
    found: dict[tuple[str, str, int], set[str]] = {}
    for hit in result.hits:
        marks = found.setdefault((hit.doc_id, hit.eval, hit.eval_index), set())
        marks.add(hit.stage)
        if hit.gated:
            marks.add("gated")
    return found


def _ceiling(items: list[EvalItem], corpus: Corpus) -> dict[str, float]:
    """Per kind of semantic interest, the share found when every window of the planted
    document is read: by MiniLM cosine >= 0.85, or by the verifier."""
    plan = plan_units(items, policy="all", n=13, min_tokens=5)
    unit_of = {
        (items[plan.units[u].item].eval, items[plan.units[u].item].index): plan.units[u].text
        for u in plan.semantic
    }
    docs = {d.id: d.text for d in corpus.docs}
    verifier = load_verifier()
    assert verifier is not None
    static = static_embedder()
    out = {}
    for kind in ("paraphrase", "stem", "half"):
        hits = 0
        for doc, key in corpus.planted.get(kind, []):
            unit = unit_of.get(key)
            if unit is None:
                continue
            text = docs[doc]
            spans = windows(text, sizes=window_sizes([unit]))
            parts = [text[a:b] for a, b in spans]
            vectors = embed([unit, *parts])
            statics = static([unit, *parts])
            cos, st = vectors[1:] @ vectors[0], statics[1:] @ statics[0]
            p = verifier.probability(features([unit] * len(parts), parts, cos, st))
            hits += bool(len(parts)) and (cos.max() >= 0.85 or p.max() >= verifier.threshold)
        out[kind] = hits / max(len(corpus.planted.get(kind, [])), 1)
    return out


def _recall(items: list[EvalItem], corpus: Corpus, tmp: Path) -> None:
    write_documents(corpus.docs, tmp / "corpus")
    found: dict[str, dict[tuple[str, str, int], set[str]]] = {}
    for verifier in ("offline", "off"):
        with EmbeddingCache(tmp / "cache") as cache:
            result = check_contamination(
                tmp / "corpus",
                items,
                options=CheckOptions(quiet=True, verifier=verifier),
                cache=cache,
            )
        found[verifier] = _found(result)
    ceiling = _ceiling(items, corpus)
    print(
        f"  recall on {len(corpus.docs)} documents, {len(items)} hand-written eval items "
        "(semantic: static retrieval top-10, verify-k 3):"
    )
    print(
        f"  {'copy kind':<11} {'n':>3} {'n-gram':>7} {'semantic':>9} {'found':>6} {'gated':>6}"
        f" {'cosine only':>12} {'every window':>13}"
    )
    for kind in KINDS:
        cases = corpus.planted.get(kind, [])
        keys = [(doc, e, i) for doc, (e, i) in cases]
        if not keys:
            continue
        on, off = found["offline"], found["off"]

        def share(
            marks: dict[tuple[str, str, int], set[str]],
            *want: str,
            keys: list[tuple[str, str, int]] = keys,
        ) -> float:
            return sum(bool(marks.get(k, set()) & set(want)) for k in keys) / len(keys)

        top = f"{ceiling[kind]:13.0%}" if kind in ceiling else f"{'-':>13}"
        print(
            f"  {kind:<11} {len(keys):>3} {share(on, 'ngram'):7.0%} {share(on, 'semantic'):9.0%}"
            f" {share(on, 'ngram', 'semantic'):6.0%} {share(on, 'gated'):6.0%}"
            f" {share(off, 'ngram', 'semantic'):12.0%} {top}"
        )
    print("  clean documents flagged (any hit) / gated, with the verifier (cosine only):")
    for group, ids in corpus.clean.items():
        flagged = {d for d, _, _ in found["offline"] if d in ids}
        gated = {d for (d, _, _), m in found["offline"].items() if d in ids and "gated" in m}
        plain = {d for d, _, _ in found["off"] if d in ids}
        print(
            f"    {group:<11} {len(ids):>4} documents: flagged {len(flagged) / len(ids):.1%}, "
            f"gated {len(gated) / len(ids):.1%} (cosine only: flagged {len(plain) / len(ids):.1%})"
        )


def _pairs(items: list[EvalItem], corpus: Corpus, tmp: Path) -> None:
    """The verifier against raw cosine on the held-out candidate pairs."""
    found, texts, keys = candidate_pairs(items, corpus, tmp / "pairs", verify_k=3)
    y = labels(found, keys, corpus) > 0
    cos = np.asarray([c.cosine for c in found])
    verifier = load_verifier()
    assert verifier is not None
    x = features(
        [texts[c.row] for c in found], [c.text for c in found], cos, [c.static for c in found]
    )
    ours = verifier.probability(x) >= verifier.threshold
    fp = ours[~y].mean()
    cut = np.sort(cos[~y])[::-1][int(fp * (~y).sum())] if (~y).any() else 1.0
    plain = cos > cut

    def line(name: str, chosen: np.ndarray) -> str:
        tp = int((chosen & y).sum())
        precision = tp / max(int(chosen.sum()), 1)
        return (
            f"    {name:<28} precision {precision:.3f}  recall {tp / max(int(y.sum()), 1):.3f}"
            f"  false positives {chosen[~y].mean():.4f} of {int((~y).sum())} negatives"
        )

    print(f"  held-out candidate pairs ({int(y.sum())} over a planted copy, of {len(y)}):")
    print(line(f"verifier ({verifier.version})", ours))
    print(line(f"cosine > {cut:.3f} (same FP)", plain))


def _independence(items: list[EvalItem], corpus: Path, tmp: Path) -> None:
    alone = [it for it in items if it.eval == "mcq"]
    reports = []
    for run, chosen in (("alone", alone), ("together", items)):
        with EmbeddingCache(tmp / f"cache-{run}") as cache:
            result = check_contamination(
                corpus, chosen, options=CheckOptions(quiet=True), cache=cache
            )
        report = build_report(result)
        reports.append(
            ([h for h in report["hits"] if h["eval"] == "mcq"], report["distance"].get("mcq"))
        )
    same = reports[0] == reports[1]
    print(
        f"  independence: mcq checked alone and beside three other evals (fresh caches): "
        f"hits, distances and percentiles {'identical' if same else 'DIFFER'}"
    )


def main() -> None:
    items = bench_items()
    print(
        f"contamination: {len(items)} hand-written eval items in "
        f"{sorted({i.eval for i in items})}; copies planted in clean prose on their themes"
    )
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(items, "test", clean_docs=800)
        _recall(items, corpus, Path(tmp))
        _pairs(items, corpus, Path(tmp))
        _independence(items, Path(tmp) / "corpus", Path(tmp))
    contamination_speed.main(items)


if __name__ == "__main__":
    main()
