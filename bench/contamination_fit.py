"""Fit the offline verifier on the benchmark's training split and write its data file.

`python -m bench.contamination_fit` builds the training corpus (clean prose,
hard negatives and planted hand-written paraphrases, all of the `train`
split), runs the semantic stage's retrieval and locating with a wide
`verify_k`, labels every candidate window (a positive is a window over the
planted paraphrase of that unit's own item; everything else is a negative),
fits an L2-regularised logistic regression over `verifier.FEATURES` in numpy
(Newton's method), and picks the threshold: the lowest probability at which
no more than `MAX_FP` of the training negatives pass. The result replaces
`toolkit/data/contamination/verifier.v1.json` only when `--write` is given;
a changed fit of a released version should become a new version instead.
The held-out split is never read here: `python -m bench contamination`
reports on it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.contamination_data import Corpus, bench_items, build_corpus
from toolkit.contamination import EvalItem
from toolkit.contamination.matches import plan_units
from toolkit.contamination.semantic import Candidate, SemanticCheck
from toolkit.contamination.verifier import FEATURES, VERIFIER_VERSION, Verifier, features
from toolkit.embeddings import (
    DEFAULT_MODEL,
    EmbeddingCache,
    static_embedder,
    static_model_name,
)
from toolkit.packaged import data_path

F64 = npt.NDArray[np.float64]
MAX_FP = 0.004  # share of training negative pairs allowed over the threshold
RIDGE = 1.0
POSITIVE_WEIGHT = 20.0  # positives are rare among candidates; weigh them up


def candidate_pairs(
    items: list[EvalItem], corpus: Corpus, cache_dir: Path, *, verify_k: int, top_k: int = 10
) -> tuple[list[Candidate], list[str], list[tuple[str, int]]]:
    """Every semantic unit's `verify_k` best windows in `corpus` (as the check finds
    them), the units' texts and each unit's item key."""
    plan = plan_units(items, policy="all", n=13, min_tokens=5)
    texts = [plan.units[i].text for i in plan.semantic]
    keys = [
        (items[plan.units[i].item].eval, items[plan.units[i].item].index) for i in plan.semantic
    ]
    with (
        EmbeddingCache(cache_dir) as cache,
        EmbeddingCache(cache_dir, static_model_name(), embedder=static_embedder()) as static,
    ):
        check = SemanticCheck(
            texts, cache, static, groups=[k[0] for k in keys], top_k=top_k, verify_k=verify_k
        )
        for start in range(0, len(corpus.docs), 512):
            check.add(corpus.docs[start : start + 512], "corpus")
        wanted = check.candidates()
        found, _ = check.locate(("corpus", d) for d in corpus.docs if ("corpus", d.id) in wanted)
    return found, texts, keys


def labels(found: list[Candidate], keys: list[tuple[str, int]], corpus: Corpus) -> F64:
    """1 where the window overlaps the planted paraphrase of its unit's own item."""
    planted = {(doc, key) for cases in corpus.planted.values() for doc, key in cases}
    out = np.zeros(len(found))
    for i, c in enumerate(found):
        if (c.doc[1], keys[c.row]) in planted:
            a, b = corpus.spans[c.doc[1]]
            out[i] = float(c.span[0] < b and a < c.span[1])
    return out


def fit(x: F64, y: F64, *, ridge: float = RIDGE, weight: float = POSITIVE_WEIGHT) -> Verifier:
    """Weighted, L2-regularised logistic regression by Newton's method; the threshold
    lets at most `MAX_FP` of the negatives through."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    sample = np.where(y > 0, weight, 1.0)
    penalty = np.r_[np.full(z.shape[1] - 1, ridge), 0.0]
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -40, 40)))
        grad = z.T @ (sample * (p - y)) + penalty * w
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    model = Verifier(VERIFIER_VERSION, DEFAULT_MODEL, mean, scale, w[:-1], float(w[-1]), 0.5)
    negatives = np.sort(model.probability(x[y == 0]))[::-1]
    allowed = int(MAX_FP * len(negatives))
    threshold = float(negatives[allowed]) + 1e-6 if len(negatives) > allowed else 0.5
    return Verifier(VERIFIER_VERSION, DEFAULT_MODEL, mean, scale, w[:-1], float(w[-1]), threshold)


def training_set(cache_dir: Path) -> tuple[F64, F64]:
    items = bench_items()
    corpus = build_corpus(items, "train", clean_docs=800, seed=7)
    found, texts, keys = candidate_pairs(items, corpus, cache_dir, verify_k=10)
    x = features(
        [texts[c.row] for c in found],
        [c.text for c in found],
        [c.cosine for c in found],
        [c.static for c in found],
    )
    return x, labels(found, keys, corpus)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        x, y = training_set(Path(tmp))
    model = fit(x, y)
    p = model.probability(x)
    passed = p >= model.threshold
    print(
        f"verifier fit on {len(y)} training pairs ({int(y.sum())} positive): "
        f"recall {passed[y > 0].mean():.3f}, negatives passed {passed[y == 0].mean():.4f}, "
        f"threshold {model.threshold:.4f}"
    )
    for name, weight in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:<10} {weight:+.3f}")
    if "--write" in argv:
        data = {**model.to_dict(), "trained_on": {"pairs": len(y), "positives": int(y.sum())}}
        path = data_path("contamination", f"{VERIFIER_VERSION}.json")
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"  written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
