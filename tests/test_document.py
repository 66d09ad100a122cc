"""The Document record: stable ids, strict parsing, lossless round trips."""

from __future__ import annotations

import pytest

from toolkit.document import Document, Provenance, document_id, normalise_text
from toolkit.errors import InputError


def test_id_is_stable_under_whitespace_and_unicode_form() -> None:
    a = document_id("story", "The agent  paused.\n\nIt asked first.")
    b = document_id("story", " The agent paused. It asked first. ")
    c = document_id("story", "The agent paused. It asked ﬁrst.")  # NFKC folds the ligature
    assert a == b == c
    assert len(a) == 24 and int(a, 16) >= 0


def test_id_depends_on_kind_and_case() -> None:
    assert document_id("story", "Text") != document_id("advice", "Text")
    assert document_id("story", "Text") != document_id("story", "text")


def test_create_fills_id_and_time_and_keeps_given_time() -> None:
    doc = Document.create("explainer", "Why honesty matters.", principle_ids=["honesty"])
    assert doc.id == document_id("explainer", "Why honesty matters.")
    assert doc.provenance.created_at is not None and doc.provenance.created_at.endswith("+00:00")
    fixed = Document.create("story", "x", provenance=Provenance(created_at="2026-01-01T00:00:00"))
    assert fixed.provenance.created_at == "2026-01-01T00:00:00"


def test_create_rejects_unknown_kind_with_the_choices() -> None:
    with pytest.raises(InputError, match="'poem' is not one of explainer, story, advice, external"):
        Document.create("poem", "x")


def test_round_trip_through_dict() -> None:
    doc = Document.create(
        "advice",
        "A dilemma and the advice.",
        title="Padding a report",
        principle_ids=["honesty/calibration"],
        provenance=Provenance(backend="offline", seed={"situation": "grant"}),
        metadata={"quality": {"words": 5}},
    )
    assert Document.from_dict(doc.to_dict()) == doc


def test_normalise_text() -> None:
    assert normalise_text("  a\t b\n\nc ") == "a b c"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "", "kind": "story", "text": "t"}, "id: expected a non-empty string"),
        ({"id": "x", "kind": "story", "text": 3}, "text: expected a string"),
        ({"id": "x", "kind": "story", "text": "t", "principle_ids": "a"}, "principle_ids"),
        ({"id": "x", "kind": "story", "text": "t", "metadata": []}, "metadata: expected an object"),
        ({"id": "x", "kind": "story", "text": "t", "provenance": {"seed": 1}}, "provenance.seed"),
        ({"id": "x", "kind": "story", "text": "t", "provenance": {"model": 1}}, "provenance.model"),
    ],
)
def test_from_dict_names_the_bad_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        Document.from_dict(data)
