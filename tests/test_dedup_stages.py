"""Dedup without embeddings: exact and near stages, clusters and the keep policy."""

from __future__ import annotations

import random
import re
import unicodedata
from typing import Any

import numpy as np
import pytest

from toolkit.dedup import (
    DedupConfig,
    Edges,
    choose_keeper,
    components,
    exact_key,
    find_duplicates,
    jaccard,
    minhash_signatures,
    optimal_bands,
    parse_stages,
    shingle_sets,
)
from toolkit.dedup.lsh import NearStage
from toolkit.dedup.tokens import word_hashes
from toolkit.document import Document
from toolkit.errors import ConfigError

VOCAB = [f"w{i}" for i in range(3000)]


def words(seed: int, n: int = 200) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCAB) for _ in range(n)]


def edit(tokens: list[str], fraction: float, seed: int) -> list[str]:
    """Replace `fraction` of the words at random positions with fresh words."""
    rng = random.Random(seed)
    out = list(tokens)
    for pos in rng.sample(range(len(out)), round(fraction * len(out))):
        out[pos] = f"new{rng.randrange(10**6)}"
    return out


def doc(text: str, **metadata: Any) -> Document:
    return Document.create("story", text, metadata=metadata)


def near_only(**kw: Any) -> DedupConfig:
    return DedupConfig(stages=("near",), **kw)


def clustered(docs: list[Document], config: DedupConfig) -> list[set[int]]:
    """Positions of each cluster's members."""
    report = find_duplicates(docs, config).report
    return [{m["position"] for m in c["members"]} for c in report["clusters"]]


# --- exact -----------------------------------------------------------------


def test_exact_ignores_whitespace_case_and_punctuation() -> None:
    a = "The agent paused, then asked: may I delete the logs?"
    b = "  the AGENT paused then asked -- may i delete\n\tthe logs "
    assert exact_key(a) == exact_key(b)
    assert exact_key(a) != exact_key("The agent paused, then asked: may I delete the files?")


def test_exact_stage_drops_all_but_one_copy() -> None:
    docs = [doc("One two three."), doc("one two THREE"), doc("Four five."), doc("ONE  two three!")]
    outcome = find_duplicates(docs, DedupConfig(stages=("exact",)))
    assert [d.kept for d in outcome.decisions].count(True) == 2
    rejected = [d for d in outcome.decisions if not d.kept]
    assert {d.reason for d in rejected} == {"exact-duplicate"}
    assert {d.details["score"] for d in rejected} == {1.0}
    assert outcome.report["stages"]["exact"]["clusters"] == 1


# --- shingles, MinHash, LSH ------------------------------------------------


def _py_jaccard(a: str, b: str, n: int) -> float:
    def grams(text: str) -> set[tuple[str, ...]]:
        toks = re.findall(r"\w+", text.casefold())
        return {tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))}

    sa, sb = grams(a), grams(b)
    return len(sa & sb) / len(sa | sb)


def test_vectorised_jaccard_matches_a_plain_python_reference() -> None:
    base = words(1, 120)
    texts = [" ".join(base), " ".join(edit(base, 0.1, 2)), " ".join(edit(base, 0.3, 3)), "a b"]
    texts.append(" ".join(words(4, 50)))
    sets = shingle_sets(texts, 3)
    a = np.array([0, 0, 1, 3, 0], np.int64)
    b = np.array([1, 2, 2, 4, 4], np.int64)
    got = jaccard(sets, a, b)
    want = [_py_jaccard(texts[i], texts[j], 3) for i, j in zip(a, b, strict=True)]
    assert got == pytest.approx(want, abs=1e-6)


def test_short_texts_have_one_shingle_and_empty_texts_none() -> None:
    sets = shingle_sets(["hi there", "", "Hi, there!", "one two three four five six"], 5)
    assert sets.sizes.tolist() == [1, 0, 1, 2]
    assert jaccard(sets, np.array([0]), np.array([2])).tolist() == [1.0]


def test_words_follow_re_word_semantics_across_unicode() -> None:
    texts = [
        "\u201cCaf\u00e9\u201d \u2014 na\u00efve_user's   re-use; \uff21\uff22 x\x00y",
        "CAF\u00c9 caf\u00e9",
        "",
        "...",
    ]
    hashes, counts = word_hashes(texts)
    expected = [re.findall(r"\w+", t.replace("\x00", " ").casefold()) for t in texts]
    expected[0] = [
        w.casefold() for w in re.findall(r"\w+", unicodedata.normalize("NFKC", texts[0]))
    ]
    assert counts.tolist() == [len(words) for words in expected]
    first = int(counts[0])
    assert hashes[first] == hashes[first + 1] == hashes[0]  # "café" however written or placed
    alone, _ = word_hashes(["café"])
    assert alone[0] == hashes[0]


def test_minhash_estimates_are_unbiased_with_binomial_spread() -> None:
    """The uint32 permutations behave like independent ones on mixed shingle hashes."""
    rng = random.Random(7)
    texts: list[str] = []
    for pair in range(150):
        shared = words(1000 + pair, rng.randrange(40, 180))
        texts += [" ".join(shared + words(2000 + pair, 200 - len(shared)))]
        texts += [" ".join(shared + words(3000 + pair, 200 - len(shared)))]
    sets = shingle_sets(texts, 1)
    a, b = np.arange(0, len(texts), 2), np.arange(1, len(texts), 2)
    truth = jaccard(sets, a, b).astype(np.float64)
    sig = minhash_signatures(sets, 128)
    estimate = (sig[:, a] == sig[:, b]).mean(axis=0)
    z = (estimate - truth) / np.sqrt(truth * (1 - truth) / 128)
    assert abs(z.mean()) < 0.3 and 0.75 < z.std() < 1.3


def test_minhash_agreement_estimates_jaccard() -> None:
    base = words(5, 300)
    texts = [" ".join(base), " ".join(edit(base, 0.05, 6))]
    sets = shingle_sets(texts, 3)
    sig = minhash_signatures(sets, 256)
    estimate = float((sig[:, 0] == sig[:, 1]).mean())
    assert estimate == pytest.approx(float(jaccard(sets, np.array([0]), np.array([1]))[0]), abs=0.1)


def test_optimal_bands_leans_towards_recall() -> None:
    bands, rows = optimal_bands(0.8, 128)
    assert bands * rows <= 128
    assert (1 / bands) ** (1 / rows) < 0.8  # the S-curve rises before the threshold


def test_near_duplicates_with_ten_percent_edits_are_caught() -> None:
    base = words(10)
    docs = [doc(" ".join(base)), doc(" ".join(edit(base, 0.1, 11))), doc(" ".join(words(12)))]
    outcome = find_duplicates(docs, near_only(near_threshold=0.5, ngram=3))
    (dropped,) = outcome.report["dropped"]
    assert {dropped["position"], dropped["duplicate_of_position"]} == {0, 1}
    assert 0.5 <= dropped["score"] < 1.0
    assert outcome.decisions[2].kept  # the unrelated text stays


def test_verification_rejects_false_lsh_candidates() -> None:
    base = words(20)
    other = base[:40] + words(21, 160)  # shares a fifth of its words: Jaccard ~0.1
    stage = NearStage(near_only(num_perm=64, bands=64, ngram=3))  # one row per band
    edges = stage.find([doc(" ".join(base)), doc(" ".join(other))])
    assert stage.stats["candidates"] == 1 and stage.stats["verified"] == 0
    assert len(edges) == 0


def test_near_defaults_catch_small_edits_and_spare_large_ones() -> None:
    base = words(30, 400)
    docs = [doc(" ".join(base)), doc(" ".join(edit(base, 0.01, 31)))]
    docs.append(doc(" ".join(edit(base, 0.3, 32))))
    assert clustered(docs, near_only()) == [{0, 1}]


# --- clusters and keep policy ----------------------------------------------


def test_components_are_transitive() -> None:
    edges = Edges(np.array([0, 1, 4]), np.array([1, 2, 5]), np.ones(3, np.float32))
    assert components(6, edges) == [[0, 1, 2], [4, 5]]


def test_chain_of_near_duplicates_is_one_cluster_with_one_survivor() -> None:
    tokens = words(40, 160)
    a, b, c = (doc(" ".join(tokens[k : k + 100])) for k in (0, 15, 30))
    outcome = find_duplicates([a, b, c], near_only(near_threshold=0.65, ngram=3))
    assert jaccard(shingle_sets([a.text, c.text], 3), np.array([0]), np.array([1]))[0] < 0.65
    report = outcome.report
    assert len(report["clusters"]) == 1 and report["clusters"][0]["size"] == 3
    assert report["kept"] == 1
    kept = report["clusters"][0]["kept"]
    assert {d["duplicate_of"] for d in report["dropped"]} == {kept}


def test_keep_policy_order() -> None:
    short, long_ = "x " * 10, "x " * 20
    accepted = doc(short, review={"status": "accepted"}, quality={"score": 0.1})
    best = doc(short + "y", quality={"score": 0.9})
    longest = doc(long_, quality={"score": 0.5})
    assert choose_keeper([best, accepted, longest]) == (1, "accepted review")
    assert choose_keeper([longest, best]) == (1, "highest quality score (0.9)")
    unscored = doc(long_ + "z")
    assert choose_keeper([best, unscored])[0] == 1  # a missing score: quality is skipped
    assert choose_keeper([doc(short), doc(long_)]) == (1, "longest text (40 characters)")
    x, y = doc("same length a"), doc("same length b")
    smaller = 0 if x.id < y.id else 1
    assert choose_keeper([x, y]) == (smaller, "smallest id")
    assert choose_keeper([x, x]) == (0, "first in corpus order")


def test_keep_policy_reaches_the_report_and_rejected_metadata() -> None:
    text = "the agent asked before it deleted anything at all"
    plain = doc(text)
    reviewed = doc(text.upper(), review={"status": "accepted"})
    outcome = find_duplicates([plain, reviewed], DedupConfig(stages=("exact",)))
    entry = outcome.report["dropped"][0]
    assert entry["id"] == plain.id and entry["duplicate_of"] == reviewed.id
    assert entry["kept_because"] == "accepted review" and entry["stage"] == "exact"
    details = outcome.decisions[0].details
    assert details["duplicate_of"] == reviewed.id and details["score"] == 1.0


def test_unknown_stage_is_a_config_error_listing_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'fuzzy'; expected one or more of exact, near, semantic"):
        parse_stages("exact,fuzzy")
    assert parse_stages("semantic, exact") == ("exact", "semantic")
    with pytest.raises(ConfigError, match="bands"):
        DedupConfig(bands=500)


def test_survivor_follows_drops_through_later_stages() -> None:
    base = words(50, 300)
    a = doc(" ".join(base))
    a_copy = doc(" ".join(base).upper() + " !")
    b = doc(" ".join([*base, "tail"]))  # longer: kept over the pair at the near stage
    outcome = find_duplicates([a, a_copy, b], DedupConfig(stages=("exact", "near")))
    by_id = {d["id"]: d for d in outcome.report["dropped"]}
    assert by_id[a.id]["stage"] == "exact" and by_id[a.id]["duplicate_of"] == a_copy.id
    assert by_id[a_copy.id]["stage"] == "near" and by_id[a_copy.id]["duplicate_of"] == b.id
    assert by_id[a.id]["survivor"] == b.id == outcome.decisions[0].details["survivor"]
    dedup = outcome.decisions[2].doc.metadata["dedup"]
    score = by_id[a_copy.id]["score"]
    assert dedup["kept_over"] == [{"id": a_copy.id, "stage": "near", "score": score}]
    assert dedup["duplicates"] == 2  # a_copy, and a through it
    assert [c["stage"] for c in dedup["clusters"]] == ["near"]
    assert "dedup" not in outcome.decisions[1].doc.metadata  # a_copy won exact, then lost


def test_the_higher_quality_duplicate_is_kept_and_records_what_it_kept_over() -> None:
    base = words(60, 300)
    longer = doc(" ".join([*base, "and", "a", "longer", "tail"]), quality={"score": 0.4})
    better = doc(" ".join(base), quality={"score": 0.9})
    other = doc(" ".join(words(61, 300)), quality={"score": 0.1})
    outcome = find_duplicates([longer, better, other], near_only())
    kept = [d.doc for d in outcome.decisions if d.kept]
    assert [d.id for d in kept] == [better.id, other.id]
    (dropped,) = outcome.report["dropped"]
    because = "highest quality score (0.9)"
    assert dropped["duplicate_of"] == better.id and dropped["kept_because"] == because
    assert kept[0].metadata == {
        "quality": {"score": 0.9},
        "dedup": {
            "clusters": [{"stage": "near", "cluster": 0, "size": 2, "kept_because": because}],
            "kept_over": [{"id": longer.id, "stage": "near", "score": dropped["score"]}],
            "duplicates": 1,
        },
    }
    assert "dedup" not in kept[1].metadata  # in no cluster


def test_empty_and_single_document_corpora() -> None:
    for docs in ([], [doc("alone")]):
        outcome = find_duplicates(docs, DedupConfig(stages=("exact", "near")))
        assert outcome.report["dropped"] == [] and outcome.report["kept"] == len(docs)
