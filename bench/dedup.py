"""Near-duplicate dedup: ccorpus's vectorised MinHash + LSH against datasketch's.

One generated corpus, one run. Random base documents (Zipfian words,
sentences of 12-24 words) with planted near-duplicates of five classes: word
substitutions at 5, 15 and 30 %, shuffled sentences, and truncation to 70 %.
Both sides tokenise the same way, use the same n-gram size, permutations and
threshold, and run end to end (shingles, signatures, LSH, clusters); ccorpus
also verifies every candidate by its true Jaccard similarity, datasketch
takes its LSH candidates as they come. A planted pair counts as found when
both documents end in one cluster; precision is over the duplicate pairs each
side reports.

Then the embedder, side by side: torch fp32 (the reference), bf16 autocast,
ONNX Runtime fp32 and int8, and model2vec static embeddings distilled from
the same model (`bench.embedding_paths`), each with its speed, cosine to
fp32, and how many of fp32's duplicate pairs at the semantic threshold it
finds and how many of its own fp32 confirms. A path may be the toolkit's
default only if both shares are >= 97 %; the last line names the fastest
such path and the default `toolkit.embeddings` takes on this CPU.

Last, `bench.dedup_stream`: the streamed `deduplicate` against the in-memory
path on 100,000 generated documents (time, peak memory, identical outputs).
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench import dedup_stream, embedding_paths
from bench.embedding_paths import Built
from toolkit.dedup import DedupConfig, Edges, components, jaccard, shingle_sets
from toolkit.dedup.lsh import NearStage
from toolkit.document import Document, normalise_text

CLASSES = ("edit5", "edit15", "edit30", "reorder", "truncate70")
NEGATIVE = "quote45"  # not a duplicate: a different text that quotes 45 % of another
THRESHOLD, NUM_PERM, NGRAM = 0.5, 128, 5
_WORD = re.compile(r"\w+")


def _corpus(n_base: int, per_class: int, seed: int = 7) -> tuple[list[str], list[int], list[str]]:
    """Texts, the base each one derives from or quotes (itself for a base), and its class."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(30_000)])
    zipf = 1.0 / np.arange(1, vocab.size + 1) ** 1.05
    zipf /= zipf.sum()

    def sentences() -> list[list[str]]:
        return [list(rng.choice(vocab, rng.integers(12, 25), p=zipf)) for _ in range(14)]

    bases = [sentences() for _ in range(n_base)]
    texts = [" ".join(" ".join(s) + "." for s in b) for b in bases]
    source, kind = list(range(n_base)), ["base"] * n_base
    donors = rng.permutation(n_base)[: per_class * (len(CLASSES) + 1)]
    for k, base in enumerate(donors.tolist()):
        if k >= per_class * len(CLASSES):  # a hard negative: another text quoting 45 %
            fresh = sentences()
            cut = round(0.45 * len(fresh))
            texts.append(" ".join(" ".join(s) + "." for s in bases[base][:cut] + fresh[cut:]))
            source.append(base)
            kind.append(NEGATIVE)
            continue
        cls = CLASSES[k // per_class]
        sents = [list(s) for s in bases[base]]
        if cls.startswith("edit"):
            words = [w for s in sents for w in s]
            for pos in rng.choice(len(words), round(int(cls[4:]) / 100 * len(words)), False):
                words[pos] = str(rng.choice(vocab, p=zipf))
            text = " ".join(words) + "."
        elif cls == "reorder":
            text = " ".join(" ".join(sents[i]) + "." for i in rng.permutation(len(sents)))
        else:
            words = [w for s in sents for w in s]
            text = " ".join(words[: round(0.7 * len(words))]) + "."
        texts.append(text)
        source.append(base)
        kind.append(cls)
    return texts, source, kind


def _ours(texts: Sequence[str]) -> tuple[float, list[list[int]], Edges, NearStage]:
    docs = [Document(id=str(i), kind="story", text=t) for i, t in enumerate(texts)]
    stage = NearStage(
        DedupConfig(stages=("near",), near_threshold=THRESHOLD, num_perm=NUM_PERM, ngram=NGRAM)
    )
    start = time.perf_counter()
    edges = stage.find(docs)
    clusters = components(len(docs), edges)
    return time.perf_counter() - start, clusters, edges, stage


def _shingles(text: str) -> list[bytes]:
    toks = _WORD.findall(normalise_text(text).casefold())
    grams = {" ".join(toks[i : i + NGRAM]) for i in range(max(1, len(toks) - NGRAM + 1))}
    return [g.encode() for g in grams]


def _datasketch(texts: Sequence[str]) -> tuple[float, list[list[int]], Edges, list[Any]]:
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    hashes = MinHash.bulk((_shingles(t) for t in texts), num_perm=NUM_PERM, seed=1)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(hashes):
            session.insert(i, m, check_duplication=False)
    pairs = {(min(i, j), max(i, j)) for i, m in enumerate(hashes) for j in lsh.query(m) if j != i}
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    edges = Edges(a, b, np.ones(len(pairs), np.float32))
    clusters = components(len(texts), edges)
    return time.perf_counter() - start, clusters, edges, hashes


def _datasketch_index_bytes(hashes: list[Any]) -> int:
    """Bytes the LSH buckets and the signatures they were built from hold, by tracemalloc."""
    from datasketch import MinHashLSH

    tracemalloc.start()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for i, m in enumerate(hashes):
        lsh.insert(i, m, check_duplication=False)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return int(held + sum(m.hashvalues.nbytes for m in hashes))


def _scores(
    clusters: list[list[int]], edges: Edges, source: list[int], kind: list[str]
) -> dict[str, tuple[float, float]]:
    """Per class: (precision of the pairs reported that touch it, share clustered with its source).

    For the negative class the second figure is the share wrongly clustered.
    """
    root = {m: c[0] for c in clusters for m in c}
    family = [s if k in CLASSES else i for i, (s, k) in enumerate(zip(source, kind, strict=True))]
    pairs = list(zip(edges.a.tolist(), edges.b.tolist(), strict=True))
    touched = [kind[b] if kind[b] != "base" else kind[a] for a, b in pairs]
    good = [family[a] == family[b] for a, b in pairs]
    out: dict[str, tuple[float, float]] = {}
    for cls in (*CLASSES, NEGATIVE, "all"):
        members = [i for i, k in enumerate(kind) if k == cls or (cls == "all" and k in CLASSES)]
        joined = [root.get(i, -1) == root.get(source[i], -2) for i in members]
        mine = [g for g, c in zip(good, touched, strict=True) if cls in ("all", c)]
        out[cls] = (sum(mine) / len(mine) if mine else float("nan"), sum(joined) / len(members))
    return out


# a near copy of each paragraph per variant: (shuffle its sentences, share of words
# dropped, share of words swapped for words of other paragraphs); the later ones put
# many pairs close to the semantic threshold, where the paths could disagree
VARIANTS = {
    "shuffle+drop10": (True, 0.1, 0.0),
    "drop20": (False, 0.2, 0.0),
    "swap15": (False, 0.0, 0.15),
    "shuffle+drop20+swap10": (True, 0.2, 0.1),
}
SEMANTIC = 0.92  # the semantic stage's cosine threshold
RULE = 0.97  # a path may be the default only if it agrees with fp32 on >= 97 % of pairs


def _paragraph_copies(limit: int) -> tuple[list[str], int]:
    """Paragraphs of the sample constitution (real prose, unlike the random corpus), then
    one block of near copies per variant; and the number of paragraphs."""
    text = (Path(__file__).resolve().parents[1] / "constitution" / "sample.md").read_text()
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if len(p.split()) >= 25][:limit]
    pool = " ".join(paragraphs).split()
    rng = np.random.default_rng(5)
    texts = list(paragraphs)
    for shuffle, drop, swap in VARIANTS.values():
        for para in paragraphs:
            sentences = re.split(r"(?<=[.!?])\s+", para)
            if shuffle:
                sentences = [sentences[i] for i in rng.permutation(len(sentences))]
            words = [w for w in " ".join(sentences).split() if rng.random() >= drop]
            words = [str(rng.choice(pool)) if rng.random() < swap else w for w in words]
            texts.append(" ".join(words))
    return texts, len(paragraphs)


def _duplicate_pairs(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Over every pair of texts (upper triangle): cosine >= SEMANTIC."""
    return (vectors @ vectors.T)[np.triu_indices(len(vectors), 1)] >= SEMANTIC


def _paths() -> list[tuple[str, Callable[[], Built]]]:
    """The paths compared with torch-fp32 (the reference, first), named as
    `toolkit.embeddings.embedder_info` names its own; each built on demand."""
    from toolkit.embeddings import embed

    def torch_path(precision: str) -> Callable[[], Built]:
        return lambda: (lambda t: embed(t, precision=precision), 0.0, "")

    return [
        ("torch-fp32", torch_path("fp32")),
        ("torch-bf16-autocast", torch_path("bf16")),
        ("onnxruntime-fp32", lambda: embedding_paths.onnx_embedder(quantized=False)),
        ("onnxruntime-int8", lambda: embedding_paths.onnx_embedder(quantized=True)),
        ("model2vec-static-pca256", lambda: embedding_paths.static_embedder(256)),
    ]


def _embedding(texts: list[str], paragraphs: int, repeats: int) -> None:
    from toolkit.embeddings import PRECISION_ENV, cpu_supports_bf16, embedder_info

    print(
        f"  embedding paths: {len(texts)} texts ({paragraphs} paragraphs of constitution/"
        f"sample.md and a near copy of each per variant), best of {repeats}; agreement is over "
        f"the duplicate pairs at cos >= {SEMANTIC}"
    )
    print(
        f"  {'path':<24}{'docs/s':>8}{'vs fp32':>9}  {'cos to fp32 mean / min':<24}"
        f"{'fp32 pairs found':>18}{'its pairs in fp32':>19}  {'>= ' + f'{RULE:.0%}':<7}setup"
    )
    fp32: npt.NDArray[np.float32] | None = None
    fp32_s, dup32 = 0.0, np.zeros(0, bool)
    speed: dict[str, float] = {}
    for name, build in _paths():
        try:
            encode, setup_s, note = build()
        except embedding_paths.Skipped as why:
            print(f"  {name:<24}skipped: {why}")
            continue
        encode(texts[:8])  # warm up: load, first-call allocations
        best, vectors = float("inf"), None
        for _ in range(repeats):
            start = time.perf_counter()
            vectors = encode(texts)
            best = min(best, time.perf_counter() - start)
        assert vectors is not None
        dup = _duplicate_pairs(vectors)
        if fp32 is None:  # the first row is the reference
            fp32, fp32_s, dup32 = vectors, best, dup
        if vectors.shape == fp32.shape:
            cos = np.einsum("ij,ij->i", fp32, vectors)
            cosines = f"{cos.mean():.6f} / {cos.min():.6f}"
        else:
            cosines = f"n/a ({vectors.shape[1]} vs {fp32.shape[1]} dims)"
        both = int((dup & dup32).sum())
        found, kept = both / max(1, int(dup32.sum())), both / max(1, int(dup.sum()))
        ok = min(found, kept) >= RULE
        if ok:
            speed[name] = len(texts) / best
        setup = f"{note} {setup_s:.1f} s" if note and not note.startswith("cached") else note
        line = (
            f"  {name:<24}{len(texts) / best:8.1f}{fp32_s / best:8.2f}x  {cosines:<24}"
            f"{found:11.1%} of {int(dup32.sum()):<3}{kept:11.1%} of {int(dup.sum()):<4}"
            f"  {'yes' if ok else 'no':<7}{setup}"
        )
        print(line.rstrip())
    if fp32 is None:
        return
    shares = [
        float((np.einsum("ij,ij->i", fp32[:paragraphs], block) >= SEMANTIC).mean())
        for block in np.split(fp32[paragraphs:], len(VARIANTS))
    ]
    print(
        "    (fp32 pairs found: share of fp32's duplicate pairs the path finds too; its pairs in"
        " fp32: share of the path's pairs that fp32 finds too)"
    )
    print(
        "    fp32 finds the planted copies: "
        + ", ".join(f"{v} {s:.0%}" for v, s in zip(VARIANTS, shares, strict=True))
    )
    info = embedder_info()
    fastest = max(speed, key=speed.__getitem__)
    print(
        f"    fastest path agreeing with fp32 on >= {RULE:.0%} of pairs: {fastest}"
        + ("" if fastest != "torch-fp32" else " (no other path qualifies: fp32 stays)")
    )
    print(
        f"    the toolkit's default on this CPU: {info['path']} ({info['reason']}; "
        f"CPU bf16 {'yes' if cpu_supports_bf16() else 'no'}; {PRECISION_ENV}=fp32 forces fp32)"
    )
    if info["path"] not in speed:
        print(f"    WARNING: the default path missed the {RULE:.0%} rule in this run")


def _first(run: tuple[Any, ...]) -> float:
    return float(run[0])


def main(
    n_base: int = 20_000, per_class: int = 400, paragraphs: int = 47, repeats: int = 2
) -> None:
    texts, source, kind = _corpus(n_base, per_class)
    n, planted = len(texts), np.array([i for i, k in enumerate(kind) if k != "base"], np.int64)
    sets = shingle_sets(texts, NGRAM)
    true_j = jaccard(sets, planted, np.array(source, np.int64)[planted])
    # best of `repeats`: this shared machine's load varies from run to run
    ours_s, ours_clusters, ours_edges, stage = min(
        (_ours(texts) for _ in range(repeats)), key=_first
    )
    ds_s, ds_clusters, ds_edges, hashes = min(
        (_datasketch(texts) for _ in range(repeats)), key=_first
    )
    print(
        f"dedup (near): {n} documents ({n_base} random, {per_class} per planted class), "
        f"{NGRAM}-word shingles, {NUM_PERM} permutations, Jaccard threshold {THRESHOLD}"
    )
    print(
        f"  ccorpus:    {n / ours_s:8.0f} docs/s  ({ours_s:.2f} s; bands {stage.bands}x"
        f"{stage.rows}, {stage.stats['candidates']} candidates, {len(ours_edges)} verified)"
    )
    print(f"  datasketch: {n / ds_s:8.0f} docs/s  ({ds_s:.2f} s; {len(ds_edges)} LSH pairs)")
    print(f"  throughput ratio ccorpus/datasketch: {ds_s / ours_s:.1f}x")
    ours = _scores(ours_clusters, ours_edges, source, kind)
    theirs = _scores(ds_clusters, ds_edges, source, kind)
    print("  class                mean J   ccorpus P / R     datasketch P / R")
    kinds = np.array(kind)[planted]
    for cls in (*CLASSES, "all", NEGATIVE):
        picked = kinds == cls if cls != "all" else np.isin(kinds, CLASSES)
        label = f"{cls} (not a dup)" if cls == NEGATIVE else cls
        print(
            f"  {label:<20}{float(true_j[picked].mean()):4.2f}   "
            f"{ours[cls][0]:6.3f} / {ours[cls][1]:5.3f}     "
            f"{theirs[cls][0]:6.3f} / {theirs[cls][1]:5.3f}"
        )
    print(f"  ({NEGATIVE}: R is the share wrongly clustered with the text it quotes)")
    index, shingle_bytes = stage.stats["index_bytes"], stage.stats["shingle_bytes"]
    ds_index = _datasketch_index_bytes(hashes)
    per_m = 1e6 / n / 2**20
    print(
        f"  LSH index per million docs: ccorpus {index * per_m:,.0f} MiB (signatures + band keys;"
        f" + {shingle_bytes * per_m:,.0f} MiB shingle sets for verification), datasketch "
        f"{ds_index * per_m:,.0f} MiB; ratio datasketch/ccorpus {ds_index / index:.1f}x"
    )
    _embedding(*_paragraph_copies(paragraphs), repeats)
    dedup_stream.main()


if __name__ == "__main__":
    main()
