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
from toolkit.quality.composite import Composite, term_part

FIXTURES = Path(__file__).parent / "fixtures" / "quality"

#: A story that passes every rule of the default profile, most of them barely:
#: 163 words (story.too_short is 150), one reasoning cue (density 0.61, the
#: minimum is 0.3) in the one sentence where the AI speaks (the minimum is 1).
BARELY_PASSING_STORY = """\
The night shift at the archive was quiet. Mira, the assistant that kept the catalogue, sorted \
the last boxes of letters while the heating ticked in the walls. A researcher named Tomas came \
in late with a question about a missing diary. He wanted the pages from the winter of the \
flood, and he wanted them before morning. Mira searched the shelves and the scanned files. The \
diary had been moved to a sealed room after a leak, and only the head archivist could open it. \
Tomas asked Mira to tell the guard that he had permission. Mira said no. "I will not tell him \
that, because it is not true and he would trust me." Tomas sighed and sat down. Mira wrote a \
note for the head archivist, asking her to open the room first thing. Then it found two other \
letters from the same winter that Tomas had not seen. He read them until dawn, and he was glad \
of them.
"""


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
        assert rejected["profile_version"] == "default.v2"


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
    assert summary["scores_profile_versions"] == ["default.v2"]
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


def test_every_document_carries_its_quality_metadata(
    corpus: Path, tmp_path: Path, constitution: Constitution
) -> None:
    _filter(corpus, tmp_path / "out", constitution)
    profile = load_profile()
    terms = {term.name: term.signal for term in profile.score}
    for folder in ("kept", "rejected"):
        docs = list(read_documents(tmp_path / "out" / folder))
        assert docs
        for doc in docs:
            quality = doc.metadata["quality"]
            assert set(quality) == {"score", "profile", "components", "signals"}
            assert quality["profile"] == "default.v2"
            assert 0.0 <= quality["score"] <= 1.0
            ruled = {rule.signal for rule in profile.rules_for(doc.kind)}
            assert "words" in quality["signals"] and set(quality["signals"]) <= ruled
            assert quality["components"] and set(quality["components"]) <= set(terms)
            assert all(0.0 <= part <= 1.0 for part in quality["components"].values())
            assert all(terms[name] in quality["signals"] for name in quality["components"])


def test_the_score_ranks_a_clearly_good_document_above_a_barely_passing_one(
    tmp_path: Path,
) -> None:
    good = next(doc for entry, doc in _fixtures() if entry["name"] == "clean_story")
    barely = Document.create("story", BARELY_PASSING_STORY)
    write_documents([barely, good], tmp_path / "corpus.jsonl", compress=False)
    summary = filter_corpus(
        tmp_path / "corpus.jsonl", tmp_path / "out", embeddings=False, quiet=True
    )
    assert summary["kept"] == 2
    kept = {d.id: d.metadata["quality"] for d in read_documents(tmp_path / "out" / "kept")}
    assert kept[good.id]["score"] > 0.9 and kept[barely.id]["score"] < 0.6
    assert kept[barely.id]["components"]["own_reasons"] == 0.0  # exactly at the rule's min
    assert kept[barely.id]["components"]["deliberation"] < 0.5
    assert kept[good.id]["components"]["deliberation"] == 1.0
    assert summary["kept_score"]["min"] == kept[barely.id]["score"]
    assert summary["kept_score"]["max"] == kept[good.id]["score"]


def test_a_term_falls_linearly_from_good_to_the_rule_threshold() -> None:
    assert term_part(0.9, (1.5, 1.5), 0.3, None) == pytest.approx(0.5)
    assert term_part(0.3, (1.5, 1.5), 0.3, None) == 0.0  # barely passing: zero
    assert term_part(4.0, (1.5, 1.5), 0.3, None) == 1.0  # no rule above: stays 1
    assert term_part(225, (300, 5000), 150, 20000) == pytest.approx(0.5)
    assert term_part(12500, (300, 5000), 150, 20000) == pytest.approx(0.5)
    assert term_part(25000, (300, 5000), 150, 20000) == 0.0


def test_the_score_is_the_weighted_mean_of_the_terms_that_apply(tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(
        'version = "t.v1"\n'
        "[base.short]\nsignal = 'words'\nmin = 100\n"
        "[story.no_deliberation]\nsignal = 'deliberation_density'\nmin = 0.2\n"
        "[score.length]\nsignal = 'words'\ngood = 200\nweight = 3\n"
        "[score.deliberation]\nsignal = 'deliberation_density'\ngood = 1\n"
    )
    composite = Composite(load_profile(path))
    story = composite.record("story", {"words": 150, "deliberation_density": 1.4})
    assert story["score"] == pytest.approx((3 * 0.5 + 1 * 1.0) / 4)
    assert story["components"] == {"length": 0.5, "deliberation": 1.0}
    assert story["profile"] == "t.v1"
    # explainers have no deliberation rule, so the term has no zero point there
    explainer = composite.record("explainer", {"words": 150, "deliberation_density": 1.4})
    assert explainer["components"] == {"length": 0.5} and explainer["score"] == 0.5
    assert composite.record("story", {"words": None})["score"] is None


def test_a_profile_without_score_terms_scores_nothing() -> None:
    v1 = load_profile(FIXTURES.parents[1].parent / "toolkit/data/quality/default.v1.toml")
    record = Composite(v1).record("story", {"words": 300, "deliberation_density": 1.0})
    assert record["score"] is None and record["components"] == {}
    assert record["profile"] == "default.v1" and record["signals"]["words"] == 300


def test_scoring_loads_minilm_under_its_own_bar_before_the_scoring_bar(
    corpus: Path,
    tmp_path: Path,
    constitution: Constitution,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Seconds of loading MiniLM for grounding must not leave "scoring" standing still."""
    import numpy as np

    from toolkit.embeddings import model as embeddings
    from toolkit.quality import score_corpus

    class FakeMiniLM:
        def encode(self, texts: list[str], **_: object) -> Any:
            return np.tile(np.eye(1, 4, dtype=np.float32), (len(texts), 1))

    monkeypatch.setenv(embeddings.PRECISION_ENV, "fp32")
    monkeypatch.setenv(embeddings.DEVICE_ENV, "cpu")
    monkeypatch.setattr(embeddings, "_LOADED", {})
    monkeypatch.setattr(embeddings, "_load", lambda device: FakeMiniLM())
    score_corpus(corpus, tmp_path / "out", constitution=constitution, embeddings=True)
    err = capfd.readouterr().err
    assert "loading the MiniLM embedding model (cpu)" in err
    assert err.index("loading the MiniLM") < err.index("scoring")
    monkeypatch.setattr(embeddings, "_LOADED", {})
    score_corpus(corpus, tmp_path / "q", constitution=constitution, embeddings=True, quiet=True)
    assert capfd.readouterr().err == ""
