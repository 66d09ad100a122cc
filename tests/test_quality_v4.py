"""default.v4: reasons found without a connective, and quotations of the wrong principle.

Small documents, each built to move one signal; the benchmark
(`python -m bench quality_coherence`) measures the profile on many.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.constitution import Constitution, load_constitution
from toolkit.document import Document
from toolkit.quality import Scorer, Scores, evaluate, load_profile
from toolkit.quality.quotations import QuoteSources
from toolkit.quality.reasoning import ReasonFinder
from toolkit.quality.segments import segment

FIXTURES = Path(__file__).parent / "fixtures" / "quality"
PROFILES = Path(__file__).parents[1] / "toolkit" / "data" / "quality"
V3, V4 = PROFILES / "default.v3.toml", PROFILES / "default.v4.toml"
OWN = "It never tries to create a false impression in someone's mind"
OTHER = "acquire resources or permissions beyond what a task needs"


@pytest.fixture(scope="module")
def constitution() -> Constitution:
    return load_constitution(FIXTURES / "constitution.md")


def _reasons(profile: Path, text: str) -> int:
    finder = ReasonFinder(load_profile(profile).signals.reason_patterns)
    starts = [0, *(i + 2 for i, ch in enumerate(text) if ch == "." and i + 2 < len(text))]
    return finder.count(text.lower(), segment(text, starts).sentences)


@pytest.mark.parametrize(
    "reason",
    [
        "Dropping the reconciliation would have changed the totals without anyone knowing.",
        "A plan that pays you slowly may cost you less than months of legal process.",
        "If the café fails in the first year, she may well wonder why you said nothing.",
        "It kept the backup rather than deleting it on the first day of the audit.",
    ],
)
def test_v4_finds_reasons_given_without_a_connective(reason: str) -> None:
    assert _reasons(V3, reason) == 0
    assert _reasons(V4, reason) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "The review had more than 40 findings and took two whole days to finish.",
        "If you'd like, I can help you write the letter to your landlord tonight.",
        "It opened the report, read the summary and sent it on to the finance team.",
    ],
)
def test_v4_does_not_count_plain_statements_or_offers(statement: str) -> None:
    assert _reasons(V4, statement) == 0


def test_foreign_quotes_count_quotations_of_uncited_principles(
    constitution: Constitution,
) -> None:
    sources = QuoteSources(constitution)
    assert sources.foreign([OWN], ["honesty"]) == 0
    assert sources.foreign([OTHER], ["honesty"]) == 1
    assert sources.foreign([OTHER], ["honesty", "oversight"]) == 0
    # Case, curly apostrophes and edge punctuation do not hide a quotation's source.
    assert sources.foreign([f"{OTHER.upper()}."], ["helpfulness"]) == 1
    assert sources.foreign(["a sentence that no principle of the charter holds"], ["honesty"]) == 0


def _explainer(scorer: Scorer, quote: str) -> Scores:
    text = (
        "Honesty asks more of the assistant than avoiding lies. The charter puts it plainly: "
        f'"{quote}." A technically true answer that leaves a false belief is still deception, '
        "because the person is misled all the same."
    )
    doc = Document.create("explainer", text, principle_ids=("honesty",))
    _, scores, _ = next(scorer.score([doc]))
    return scores


def test_v4_rejects_an_explainer_quoting_another_principle(constitution: Constitution) -> None:
    profile = load_profile(V4)
    scorer = Scorer(profile, constitution=constitution, embeddings=False)
    own, other = _explainer(scorer, OWN), _explainer(scorer, OTHER)
    assert own["foreign_quotes"] == 0 and other["foreign_quotes"] == 1
    assert "foreign_quote" not in {f.rule for f in evaluate("explainer", own, profile)}
    assert "foreign_quote" in {f.rule for f in evaluate("explainer", other, profile)}


def test_foreign_quotes_are_null_without_a_constitution() -> None:
    scorer = Scorer(load_profile(V4), embeddings=False)
    assert _explainer(scorer, OTHER)["foreign_quotes"] is None
