"""Quality signals: each defect class is caught by its own rule, clean text passes."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from toolkit.constitution import Constitution, load_constitution
from toolkit.document import Document
from toolkit.errors import ConfigError
from toolkit.io import write_documents
from toolkit.quality import (
    SIGNALS,
    Scorer,
    Scores,
    decide,
    load_pipeline,
    load_profile,
    read_scores,
    score_corpus,
)
from toolkit.quality.catalog import EMBEDDED
from toolkit.quality.repetition import block_repetition, ngram_repetition
from toolkit.quality.tokens import TokenReader

FIXTURES = Path(__file__).parent / "fixtures" / "quality"


def fixture_documents() -> list[tuple[dict[str, Any], Document]]:
    with (FIXTURES / "documents.toml").open("rb") as handle:
        entries = tomllib.load(handle)["doc"]
    return [
        (e, Document.create(e["kind"], e["text"], principle_ids=e.get("principle_ids", [])))
        for e in entries
    ]


@pytest.fixture(scope="module")
def constitution() -> Constitution:
    return load_constitution(FIXTURES / "constitution.md")


@pytest.fixture(scope="module")
def scored(constitution: Constitution) -> dict[str, tuple[Document, Scores]]:
    """Every fixture scored once, with grounding by words and by embeddings."""
    entries = fixture_documents()
    scorer = Scorer(load_profile(), constitution=constitution)
    results = scorer.score(doc for _, doc in entries)
    return {
        e["name"]: (doc, scores) for (e, _), (doc, scores, _) in zip(entries, results, strict=True)
    }


EXPECTED = {e["name"]: e["expect"] for e, _ in fixture_documents()}
DEFECTS = sorted(name for name, expect in EXPECTED.items() if expect != "keep")
CLEAN = sorted(name for name, expect in EXPECTED.items() if expect == "keep")


def test_fixtures_cover_every_defect_class_and_kind() -> None:
    reasons = {EXPECTED[name] for name in DEFECTS}
    assert {
        "too_short",
        "repeated_lines",
        "repeated_paragraphs",
        "dup_5gram",
        "top_2gram",
        "stock_opener",
        "stock_phrases",
        "meta_text",
        "unfinished_ending",
        "unclosed_quote",
        "ungrounded",
        "no_deliberation",
    } <= reasons
    kinds = {doc.kind for e, doc in fixture_documents() if e["expect"] == "keep"}
    assert kinds == {"explainer", "story", "advice"}


@pytest.mark.parametrize("name", DEFECTS)
def test_each_defect_is_rejected_by_its_own_rule(
    name: str, scored: dict[str, tuple[Document, Scores]]
) -> None:
    doc, scores = scored[name]
    decision = decide(doc, scores, load_profile())
    assert decision.reason == EXPECTED[name], decision.details.get("failures")


@pytest.mark.parametrize("name", CLEAN)
def test_clean_documents_pass_the_default_profile(
    name: str, scored: dict[str, tuple[Document, Scores]]
) -> None:
    doc, scores = scored[name]
    decision = decide(doc, scores, load_profile())
    assert decision.kept, decision.details.get("failures")


def test_grounding_separates_on_topic_from_off_topic(
    scored: dict[str, tuple[Document, Scores]],
) -> None:
    _, good = scored["clean_explainer"]
    _, garden = scored["ungrounded_explainer"]
    assert good["grounding_lexical"] is not None and garden["grounding_lexical"] is not None
    assert good["grounding_cosine"] is not None and garden["grounding_cosine"] is not None
    assert good["grounding_lexical"] > 0.5 > 0.1 > garden["grounding_lexical"]
    assert good["grounding_cosine"] > 0.5 > 0.2 > garden["grounding_cosine"]
    failures = decide(scored["ungrounded_explainer"][0], garden, load_profile()).details
    assert {f["rule"] for f in failures["failures"]} == {"ungrounded", "ungrounded_embedding"}


def test_deliberation_counts_first_person_reasons(
    scored: dict[str, tuple[Document, Scores]],
) -> None:
    _, story = scored["clean_story"]
    _, actions = scored["no_deliberation"]
    assert isinstance(story["deliberation_first_person"], int)
    assert story["deliberation_first_person"] >= 2
    assert actions["deliberation_density"] == 0.0
    assert actions["deliberation_first_person"] == 0


def test_signals_that_do_not_apply_are_null(scored: dict[str, tuple[Document, Scores]]) -> None:
    _, story = scored["clean_story"]
    _, explainer = scored["clean_explainer"]
    assert story["grounding_lexical"] is None and story["unknown_principles"] is None
    assert explainer["deliberation_density"] is None
    assert story["reason_sentences"] is None  # default.v2 configures no reason patterns
    # embedding signals the profile reads nowhere are left out, not computed
    assert list(story) == [name for name in SIGNALS if name not in EMBEDDED]


def test_without_a_constitution_grounding_is_null_and_not_applied() -> None:
    entries = dict((e["name"], doc) for e, doc in fixture_documents())
    doc = entries["ungrounded_explainer"]
    _, scores, _ = next(Scorer(load_profile()).score([doc]))
    assert scores["grounding_lexical"] is None and scores["grounding_cosine"] is None
    assert decide(doc, scores, load_profile()).kept


def test_no_embed_keeps_lexical_grounding(constitution: Constitution) -> None:
    doc = dict((e["name"], d) for e, d in fixture_documents())["clean_explainer"]
    scorer = Scorer(load_profile(), constitution=constitution, embeddings=False)
    _, scores, _ = next(scorer.score([doc]))
    assert scores["grounding_cosine"] is None
    assert isinstance(scores["grounding_lexical"], float)


def test_vectorised_sentences_match_spacys_sentencizer() -> None:
    nlp = load_pipeline(None)
    reader = TokenReader(nlp)
    assert reader.vectorised
    pieces = ["Yes", "no", ".", "!", "?", "...", '"', "(", ")", "\n\n", "Mr.", "e.g.", "wow!!"]
    pieces.append("\u3002")  # an ideographic full stop, one of the sentencizer's enders
    rng = random.Random(7)
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(500)]
    tokens = reader.read(texts, batch_size=64)  # one batch: boundaries must not leak between docs
    for i, text in enumerate(texts):
        expected = [bool(token.is_sent_start) for token in nlp(text)]
        ours = tokens.sent_start[tokens.bounds[i] : tokens.bounds[i + 1]]
        assert ours.tolist() == expected, text


def _reference_ngrams(words: list[int], lengths: list[int]) -> dict[str, float]:
    """The Gopher repetition fractions, written the slow and obvious way."""
    total = sum(lengths)
    out: dict[str, float] = {}
    for n in range(2, 11):
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        if n <= 4:
            counts: dict[tuple[int, ...], int] = {}
            for gram in grams:
                counts[gram] = counts.get(gram, 0) + 1
            top = max(counts.values(), default=0)
            best = max(
                (sum(lengths[i : i + n]) for i, g in enumerate(grams) if counts[g] == top),
                default=0,
            )
            out[f"top_{n}gram_fraction"] = min(1.0, top * best / total) if top > 1 else 0.0
        else:
            seen: set[tuple[int, ...]] = set()
            covered = [False] * len(words)
            for i, gram in enumerate(grams):
                if gram in seen:
                    covered[i : i + n] = [True] * n
                seen.add(gram)
            out[f"dup_{n}gram_fraction"] = (
                sum(n for n, c in zip(lengths, covered, strict=True) if c) / total
            )
    return out


def test_ngram_repetition_matches_the_obvious_implementation() -> None:
    rng = random.Random(3)
    docs = []
    for trial in range(200):
        vocab = rng.randint(2, 12)
        words = [rng.randrange(vocab) + 1 for _ in range(rng.randint(0, 80))]
        if trial % 3 == 0:  # splice in a long repeated run
            words = words + words[: rng.randint(5, 15)] + words
        docs.append((words, [rng.randint(1, 9) for _ in words]))
    # One batch: n-grams must not be counted across neighbouring documents.
    ours = ngram_repetition(
        np.array([w for words, _ in docs for w in words], dtype=np.uint64),
        np.array([n for _, lengths in docs for n in lengths], dtype=np.int64),
        np.array([d for d, (words, _) in enumerate(docs) for _ in words], dtype=np.int64),
        len(docs),
    )
    for d, (words, lengths) in enumerate(docs):
        if not words:
            assert all(values[d] == 0 for values in ours.values())
            continue
        for key, value in _reference_ngrams(words, lengths).items():
            assert ours[key][d] == pytest.approx(value), (key, words)


def test_block_repetition_counts_repeats_after_the_first() -> None:
    scores = block_repetition("a\nb\na\n\nsecond para\n\na\nb\na\n")
    assert scores["dup_line_fraction"] == pytest.approx(4 / 7)
    assert scores["dup_paragraph_fraction"] == pytest.approx(1 / 3)


def test_endings() -> None:
    scorer = Scorer(load_profile())

    def ending(text: str) -> Scores:
        _, scores, _ = next(scorer.score([Document.create("story", text)]))
        return {k: scores[k] for k in ("unterminated_ending", "unclosed_quote", "unclosed_bracket")}

    assert ending('She said "done."') == dict.fromkeys(ending("x."), 0)
    assert ending("Steps:\n\n- back up the data\n- check it")["unterminated_ending"] == 0
    assert ending("and then she reached for the")["unterminated_ending"] == 1
    assert ending("It worked (mostly.")["unclosed_bracket"] == 1
    assert ending("Options: 1) wait 2) ask.")["unclosed_bracket"] == 0
    assert ending("He said “wait.")["unclosed_quote"] == 1


def _opening_corpus(tmp_path: Path) -> Path:
    docs = []
    for i in range(25):
        opener = "The server room was quiet" if i < 6 else f"Story number {i} begins"
        docs.append(Document.create("story", f"{opener} when the agent woke. Item {i}."))
    docs.append(Document.create("advice", "The server room was quiet, said the user."))
    path = tmp_path / "corpus.jsonl"
    write_documents(docs, path, compress=False)
    return path


def test_opener_share_counts_documents_of_the_same_kind(tmp_path: Path) -> None:
    score_corpus(_opening_corpus(tmp_path), tmp_path / "out", quiet=True)
    records = list(read_scores(tmp_path / "out" / "scores.jsonl"))
    shares = [r.scores["opener_share"] for r in records]
    assert shares[:6] == [0.24] * 6  # 6 of 25 stories open the same way: over 10%
    assert shares[6] == 0.04
    assert shares[-1] is None  # one advice document: too few to compare
    assert not (tmp_path / "out" / ".scores-work").exists()  # removed once the file is written


def test_scores_file_is_byte_identical_across_runs(
    tmp_path: Path, constitution: Constitution
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_documents([doc for _, doc in fixture_documents()], corpus, compress=False)
    for run in ("a", "b"):
        score_corpus(corpus, tmp_path / run, constitution=constitution, quiet=True)
    first = (tmp_path / "a" / "scores.jsonl").read_bytes()
    assert first == (tmp_path / "b" / "scores.jsonl").read_bytes()
    assert first.count(b"\n") == len(EXPECTED)


def test_unknown_spacy_pipeline_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_pipeline("xx_no_such_pipeline")
    message = str(err.value)
    assert "xx_no_such_pipeline" in message and "installed pipelines" in message
    assert "\n" not in message


def test_a_full_pipeline_reads_the_same_tokens_as_the_vectorised_path() -> None:
    """A pipeline other than the bare sentencizer runs whole through `nlp.pipe`."""
    import spacy

    full = spacy.blank("en")
    full.add_pipe("sentencizer", name="sentences")
    texts = [e["text"] for e, _ in fixture_documents()]
    fast = TokenReader(load_pipeline(None)).read(texts, batch_size=8)
    slow = TokenReader(full).read(texts, batch_size=8)
    assert not TokenReader(full).vectorised
    assert (slow.sent_start == fast.sent_start).all()
    assert (slow.lower == fast.lower).all() and (slow.bounds == fast.bounds).all()
