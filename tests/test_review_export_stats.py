"""Export (accepted items, edits applied, ids kept) and stats (rates, reviewers, kappa)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_review_support import make_db, stories, story
from toolkit.errors import InputError
from toolkit.io import read_documents
from toolkit.review import ReviewStore, cohen_kappa, export_reviewed, review_stats


def test_export_yields_exactly_the_accepted_items_with_their_edits(tmp_path: Path) -> None:
    docs = stories(5, metadata={"quality": {"score": 0.7}})
    db = make_db(tmp_path, docs)
    ids = [d.id for d in docs]
    with ReviewStore.open(db) as store:
        store.edit(ids[0], "Edited text.\n", reviewer="ann", based_on=1, reason="clearer")
        store.decide(ids[0], "accepted", reviewer="ann", based_on=2, notes="good after edit")
        store.decide(ids[1], "rejected", reviewer="ann", based_on=1, reasons=["preachy"])
        store.decide(ids[2], "needs-edit", reviewer="ann", based_on=1)
        store.decide(ids[3], "accepted", reviewer="bob", based_on=1)
        store.decide(ids[4], "accepted", reviewer="ann", based_on=1)
        store.decide(ids[4], "rejected", reviewer="bob", based_on=2, reasons=["incoherent"])

    result = export_reviewed(db, tmp_path / "accepted")
    assert (result["documents"], result["edited"]) == (2, 1)
    out = {d.id: d for d in read_documents(tmp_path / "accepted")}
    assert list(out) == [ids[0], ids[3]]
    edited, plain = out[ids[0]], out[ids[3]]
    assert edited.text == "Edited text.\n" and plain.text == docs[3].text
    assert edited.provenance == docs[0].provenance
    assert edited.metadata["quality"] == {"score": 0.7}
    review = edited.metadata["review"]
    assert review["decided_at"]
    assert {k: v for k, v in review.items() if k != "decided_at"} == {
        "status": "accepted",
        "reviewer": "ann",
        "reasons": [],
        "notes": "good after edit",
        "edited": True,
        "version": 3,
    }
    assert plain.metadata["review"]["edited"] is False

    rejected = export_reviewed(db, tmp_path / "rejected.jsonl", status="rejected")
    assert rejected["documents"] == 2
    got = {d.id: d.metadata["review"] for d in read_documents(tmp_path / "rejected.jsonl")}
    assert got[ids[4]]["reasons"] == ["incoherent"] and got[ids[4]]["reviewer"] == "bob"


def test_export_refuses_unknown_status_and_existing_output(tmp_path: Path) -> None:
    db = make_db(tmp_path, stories(1))
    with pytest.raises(InputError, match="--status: 'done' is not one of pending"):
        export_reviewed(db, tmp_path / "out", status="done")
    export_reviewed(db, tmp_path / "out")
    with pytest.raises(InputError, match="already holds"):
        export_reviewed(db, tmp_path / "out")
    assert export_reviewed(db, tmp_path / "out", overwrite=True)["documents"] == 0


def test_cohen_kappa_on_a_hand_computed_example() -> None:
    # 10 items: agree on 5 A and 3 R, disagree twice. p_o = 0.8.
    # Both raters say A 6 times and R 4 times: p_e = .6*.6 + .4*.4 = 0.52.
    # kappa = (0.8 - 0.52) / (1 - 0.52) = 0.28 / 0.48 = 0.58333...
    pairs = [("A", "A")] * 5 + [("A", "R")] + [("R", "R")] * 3 + [("R", "A")]
    assert cohen_kappa(pairs) == pytest.approx(0.28 / 0.48)
    assert cohen_kappa([("A", "A"), ("A", "A")]) is None  # chance agreement is already 1
    assert cohen_kappa([]) is None
    assert cohen_kappa([("A", "R"), ("R", "A")]) == pytest.approx(-1.0)


def test_stats_agreement_rates_and_reviewers(tmp_path: Path) -> None:
    docs = [story(f"t{i}\n", genre="mystery" if i < 6 else "satire") for i in range(10)]
    docs.append(story("lone\n", principle="honesty/calibration", genre="satire"))
    db = make_db(tmp_path, docs)
    a, r = "accepted", "rejected"
    ann = [a, a, a, a, a, a, r, r, r, r]
    bob = [a, a, a, a, a, r, r, r, r, a]
    with ReviewStore.open(db) as store:
        for doc, first, second in zip(docs[:10], ann, bob, strict=True):
            store.decide(doc.id, r if first == a else a, reviewer="ann", based_on=1)
            item = store.decide(doc.id, first, reviewer="ann", based_on=2)  # changed her mind
            store.decide(doc.id, second, reviewer="bob", based_on=item.version)
        store.decide(docs[0].id, r, reviewer="cat", based_on=4)  # a third reviewer is ignored
        store.edit(docs[10].id, "lone, edited\n", reviewer="dan", based_on=1, reason="typo")
    figures = review_stats(db)

    assert figures["agreement"] == {"items": 10, "agree": 8, "percent": 80.0, "kappa": 0.583}
    assert figures["progress"]["decided"] == 10 and figures["progress"]["pending"] == 1
    assert figures["progress"]["percent"] == pytest.approx(90.9)
    assert figures["edited_items"] == 1
    # Current statuses: docs 0 (cat: rejected), 5 (bob: rejected), 6-8 rejected; 1-4, 9 accepted.
    genre = figures["acceptance"]["genre"]
    assert genre["mystery"] == {"items": 6, "decided": 6, "accepted": 4, "rate": 0.667}
    assert genre["satire"] == {"items": 5, "decided": 4, "accepted": 1, "rate": 0.25}
    principle = figures["acceptance"]["principle"]
    assert principle["honesty/calibration"]["rate"] is None
    assert figures["acceptance"]["template"]["story.v1"]["accepted"] == 5
    assert figures["reviewers"]["ann"] == {
        "decisions": 20,
        "items": 10,
        "accepted": 10,
        "rejected": 10,
        "needs-edit": 0,
        "edits": 0,
    }
    assert figures["reviewers"]["cat"]["decisions"] == 1
    assert figures["reviewers"]["dan"]["edits"] == 1
