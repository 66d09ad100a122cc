"""The quality filter: kept and rejected with reasons, counts, and scores reuse."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from toolkit.constitution import Constitution, load_constitution
from toolkit.document import Document
from toolkit.errors import ConfigError, InputError
from toolkit.io import read_documents, write_documents
from toolkit.quality import (
    decide,
    evaluate,
    filter_corpus,
    load_pipeline,
    load_profile,
    read_scores,
    score_corpus,
)

FIXTURES = Path(__file__).parent / "fixtures" / "quality"


def _fixtures() -> list[tuple[dict[str, Any], Document]]:
    with (FIXTURES / "documents.toml").open("rb") as handle:
        entries = tomllib.load(handle)["doc"]
    return [
        (e, Document.create(e["kind"], e["text"], principle_ids=e.get("principle_ids", [])))
        for e in entries
    ]


@pytest.fixture(scope="module")
def constitution() -> Constitution:
    return load_constitution(FIXTURES / "constitution.md")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    write_documents([doc for _, doc in _fixtures()], path, compress=False)
    return path


def _filter(corpus: Path, out: Path, constitution: Constitution, **kw: Any) -> dict[str, Any]:
    return filter_corpus(corpus, out, constitution=constitution, embeddings=False, quiet=True, **kw)


def test_filter_splits_with_reasons_and_counts(
    corpus: Path, tmp_path: Path, constitution: Constitution
) -> None:
    out = tmp_path / "out"
    summary = _filter(corpus, out, constitution)
    expected = {e["name"]: e["expect"] for e, _ in _fixtures()}
    rejects = [e for e in expected.values() if e != "keep"]
    assert summary["kept"] == len(expected) - len(rejects)
    assert summary["dropped"] == len(rejects)
    assert summary["reasons"] == {r: rejects.count(r) for r in set(rejects)}
    assert summary["rule_failures"]["no_first_person_reasoning"] >= 2
    assert json.loads((out / "summary.json").read_text()) == summary

    kept_ids = {d.id for d in read_documents(out / "kept")}
    by_id = {doc.id: e["expect"] for e, doc in _fixtures()}
    assert {by_id[i] for i in kept_ids} == {"keep"}
    for doc in read_documents(out / "rejected"):
        rejected = doc.metadata["rejected"]
        assert rejected["stage"] == "quality"
        assert rejected["reason"] == by_id[doc.id]
        first = rejected["failures"][0]
        assert first["rule"] == rejected["reason"]
        assert rejected["value"] == first["value"] and rejected["threshold"] == first["threshold"]
        assert rejected["profile_version"] == "default.v1"


def test_every_failure_is_listed_not_just_the_first(
    corpus: Path, tmp_path: Path, constitution: Constitution
) -> None:
    _filter(corpus, tmp_path / "out", constitution)
    rejected = {
        d.metadata["rejected"]["reason"]: d.metadata["rejected"]
        for d in read_documents(tmp_path / "out" / "rejected")
    }
    rules = [f["rule"] for f in rejected["no_deliberation"]["failures"]]
    assert rules == ["no_deliberation", "no_first_person_reasoning"]
    failure = rejected["no_deliberation"]["failures"][0]
    assert failure == {
        "rule": "no_deliberation",
        "signal": "deliberation_density",
        "value": 0.0,
        "bound": "min",
        "threshold": 0.3,
    }


def test_scores_reuse_computes_nothing(
    corpus: Path, tmp_path: Path, constitution: Constitution
) -> None:
    score_corpus(
        corpus, tmp_path / "scored", constitution=constitution, embeddings=False, quiet=True
    )
    baseline = _filter(corpus, tmp_path / "fresh", constitution)
    load_pipeline.cache_clear()
    summary = filter_corpus(
        corpus, tmp_path / "reused", scores=tmp_path / "scored" / "scores.jsonl", quiet=True
    )
    info = load_pipeline.cache_info()
    assert (info.hits, info.misses, info.currsize) == (0, 0, 0)
    assert summary["scores_computed"] is False and baseline["scores_computed"] is True
    assert summary["scores_profile_versions"] == ["default.v1"]
    assert summary["reasons"] == baseline["reasons"]
    assert summary["reasons"]["ungrounded"] == 1
    copied = (tmp_path / "reused" / "scores.jsonl").read_bytes()
    assert copied == (tmp_path / "scored" / "scores.jsonl").read_bytes()


def test_scores_in_another_order_are_matched_by_id(corpus: Path, tmp_path: Path) -> None:
    score_corpus(corpus, tmp_path / "scored", quiet=True)
    lines = (tmp_path / "scored" / "scores.jsonl").read_text().splitlines()
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(reversed(lines)) + "\n")
    in_order = filter_corpus(
        corpus, tmp_path / "a", scores=tmp_path / "scored" / "scores.jsonl", quiet=True
    )
    reversed_ = filter_corpus(corpus, tmp_path / "b", scores=shuffled, quiet=True)
    assert in_order["reasons"] == reversed_["reasons"]


def test_a_document_without_scores_is_an_input_error(corpus: Path, tmp_path: Path) -> None:
    scores = tmp_path / "scores.jsonl"
    scores.write_text("")
    with pytest.raises(InputError, match="no scores for document"):
        filter_corpus(corpus, tmp_path / "out", scores=scores, quiet=True)


def test_scores_missing_a_rules_signal_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="lack signal 'words'"):
        evaluate("story", {"sentences": 3}, load_profile())


def test_null_signals_are_not_applied() -> None:
    profile = load_profile()
    doc = Document.create("explainer", "text")
    scores = {rule.signal: None for rule in profile.rules_for("explainer")}
    assert decide(doc, scores, profile).kept


def test_malformed_scores_line_names_file_and_line(corpus: Path, tmp_path: Path) -> None:
    scores = tmp_path / "scores.jsonl"
    scores.write_text('{"id": "x", "kind": "story", "scores": {}, "profile_version": "v"}\n{oops\n')
    with pytest.raises(InputError, match=r"scores.jsonl:2: not valid JSON"):
        list(read_scores(scores))


def test_custom_profile_thresholds_change_the_verdict(corpus: Path, tmp_path: Path) -> None:
    profile_path = tmp_path / "strict.toml"
    profile_path.write_text(
        'version = "strict.v1"\n[base.long_enough]\nsignal = "words"\nmin = 220\n'
    )
    profile = load_profile(profile_path)
    summary = filter_corpus(corpus, tmp_path / "out", profile=profile, quiet=True)
    assert set(summary["reasons"]) == {"long_enough"}
    assert summary["profile_version"] == "strict.v1"
