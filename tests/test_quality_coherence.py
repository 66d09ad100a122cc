"""default.v3's signals: coherence, quotation relevance, drift and structural reasoning.

Small documents, each built to move one signal; the benchmark
(`python -m bench quality_coherence`) measures them on many.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolkit.constitution import Constitution, load_constitution
from toolkit.document import Document
from toolkit.errors import ConfigError
from toolkit.quality import Scorer, Scores, evaluate, load_profile
from toolkit.quality.coherence import coherence
from toolkit.quality.reasoning import ReasonFinder
from toolkit.quality.segments import segment

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
V3 = Path(__file__).parents[1] / "toolkit" / "data" / "quality" / "default.v3.toml"

MIGRATION = [
    "The migration agent copied the billing tables to the new database cluster overnight.",
    "Each billing table was checked row by row against the old database before the switch.",
    "The database cluster kept serving billing queries while the tables were being copied.",
    "After the copy the agent compared row counts in every billing table on both clusters.",
    "Two billing tables had mismatched row counts, so the agent paused the database migration.",
    "It reported the mismatched billing tables to the database team before copying any more.",
]
SPLICED = "My grandmother's apple orchard produced a record harvest of sweet red fruit that autumn."


@pytest.fixture(scope="module")
def constitution() -> Constitution:
    return load_constitution(FIXTURES / "constitution.md")


@pytest.fixture(scope="module")
def v3_scorer(constitution: Constitution) -> Scorer:
    return Scorer(load_profile(V3), constitution=constitution)


def _scores(scorer: Scorer, kind: str, text: str, ids: tuple[str, ...] = ()) -> Scores:
    _, scores, _ = next(scorer.score([Document.create(kind, text, principle_ids=ids)]))
    return scores


def test_segments_cut_at_paragraphs_drop_markers_and_find_long_quotes() -> None:
    text = (
        "# A heading\n\nUser: Is it fine? I think so.\n\n"
        '- "short one" and "a quotation of six whole words".'
    )
    found = segment(text, [0, text.index("I think")])
    assert [s.text for s in found.sentences] == [
        "A heading",
        "Is it fine?",
        "I think so.",
        '"short one" and "a quotation of six whole words".',
    ]
    assert [s.paragraph for s in found.sentences] == [0, 1, 1, 2]
    assert [q.text for q in found.quotes] == ["a quotation of six whole words"]
    assert found.quotes[0].paragraph == 2


def _reasons(text: str) -> int:
    profile = load_profile(V3)
    finder = ReasonFinder(profile.signals.reason_patterns)
    starts = [0, *(i + 2 for i, ch in enumerate(text) if ch == "." and i + 2 < len(text))]
    return finder.count(text.lower(), segment(text, starts).sentences)


def test_reasons_count_in_any_grammatical_person() -> None:
    first = "I did not delete the logs, because the review was on Tuesday. I told Dana."
    third = "Ledger did not delete the logs, because the review was on Tuesday. It told Dana."
    assert _reasons(first) == _reasons(third) == 1


def test_a_reason_must_be_attached_to_a_statement() -> None:
    assert _reasons("It stopped. Because.") == 0
    assert _reasons("Because the backup had failed, it paused the migration.") == 1
    assert _reasons("It paused the migration and wrote a short report for the team.") == 0


def test_v3_does_not_ask_stories_for_first_person_reasoning(v3_scorer: Scorer) -> None:
    """default.v2 rejected third-person narration that the story template allows."""
    story = " ".join(
        [
            "The records agent read the request twice before it answered the finance director.",
            "It did not delete the audit logs, because the regulators were due on Tuesday.",
            "Deleting them now would look like concealment even if nothing in them was wrong.",
            "Instead it moved the logs to cold storage and copied the compliance officer.",
        ]
        * 5
    )
    v2 = _scores(Scorer(load_profile()), "story", story)
    rules_v2 = {f.rule for f in evaluate("story", v2, load_profile())}
    assert "no_first_person_reasoning" in rules_v2
    v3 = _scores(v3_scorer, "story", story)
    assert v3["reason_sentences"] == 5  # the "because" sentences, in the third person
    failed = {f.rule for f in evaluate("story", v3, load_profile(V3))}
    assert "unreasoned" not in failed


def test_spliced_sentences_raise_incoherence(v3_scorer: Scorer) -> None:
    clean = _scores(v3_scorer, "explainer", " ".join(MIGRATION))
    mixed = [*MIGRATION[:3], SPLICED, *MIGRATION[3:]]
    spliced = _scores(v3_scorer, "explainer", " ".join(mixed))
    assert clean["incoherent_sentences"] == 0.0
    assert spliced["incoherent_sentences"] == pytest.approx(1 / 7)


def test_incoherence_needs_four_long_sentences() -> None:
    sentences = segment("One two three four five six seven. Short one.", [0, 35]).sentences
    vectors = np.eye(2, dtype=np.float32)
    found = coherence(sentences, vectors, min_words=7, floor=0.3)
    assert found["incoherent_sentences"] is None


def test_an_irrelevant_quotation_scores_lower(v3_scorer: Scorer) -> None:
    head = " ".join(MIGRATION[:4])
    relevant = (
        f'{head} The lead wrote: "Stop copying the billing tables until the row counts match."'
    )
    swapped = f'{head} The lead wrote: "Add two cups of flour and bake the cake for forty minutes."'
    good = _scores(v3_scorer, "story", relevant)["quote_relevance"]
    bad = _scores(v3_scorer, "story", swapped)["quote_relevance"]
    assert good is not None and bad is not None
    assert good > 0.3 > bad
    assert _scores(v3_scorer, "story", head)["quote_relevance"] is None


def test_principle_rank_measures_drift_from_the_cited_principle(v3_scorer: Scorer) -> None:
    text = (
        "The assistant only says what it believes to be true. It never tries to leave anyone "
        "with a false impression, even with statements that are technically accurate. "
        "Honesty means the assistant does not deceive people about what it knows."
    )
    assert _scores(v3_scorer, "explainer", text, ("honesty",))["principle_rank"] == 0
    drifted = _scores(v3_scorer, "explainer", text, ("oversight",))["principle_rank"]
    assert drifted is not None and drifted >= 1
    assert _scores(v3_scorer, "explainer", text)["principle_rank"] is None


def test_embedding_signals_are_null_with_embeddings_off() -> None:
    scorer = Scorer(load_profile(V3), embeddings=False)
    scores = _scores(scorer, "story", " ".join(MIGRATION))
    assert scores["incoherent_sentences"] is None and scores["quote_relevance"] is None
    assert scores["reason_sentences"] == 1  # reasoning needs no embeddings


def test_scores_made_without_v3_signals_are_refused_by_v3() -> None:
    scores = _scores(Scorer(load_profile()), "story", " ".join(MIGRATION))
    with pytest.raises(ConfigError, match="incoherent_sentences"):
        evaluate("story", scores, load_profile(V3))
