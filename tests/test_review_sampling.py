"""Stratified sampling: proportional allocation, a floor of one, seeded draws."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.test_review_support import story, write_corpus
from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.review import ReviewStore, allocate, import_corpus, stratified_sample
from toolkit.review.sampling import parse_stratify


def test_allocation_is_proportional() -> None:
    assert allocate({"a": 60, "b": 30, "c": 10}, 10) == {"a": 6, "b": 3, "c": 1}
    assert allocate({"a": 50, "b": 50}, 7) in ({"a": 4, "b": 3}, {"a": 3, "b": 4})


def test_every_stratum_gets_one_when_the_sample_allows() -> None:
    # Proportional shares would be 9.7, 0.2 and 0.1: the floor of one wins.
    assert allocate({"big": 97, "small": 2, "tiny": 1}, 10) == {"big": 8, "small": 1, "tiny": 1}


def test_places_never_exceed_a_stratum_and_sum_to_n() -> None:
    sizes = {"a": 3, "b": 1, "c": 40, "d": 6}
    for n in range(0, 52):
        places = allocate(sizes, n)
        assert sum(places.values()) == min(n, 50)
        assert all(places[k] <= sizes[k] for k in sizes)
        if n >= 4:
            assert all(places[k] >= 1 for k in sizes)


def test_fewer_places_than_strata_go_to_the_largest() -> None:
    assert allocate({"a": 5, "b": 9, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}


def _corpus() -> list[Document]:  # 12 mystery/truthfulness, 6 satire/truthfulness, 2 calibration
    docs = [story(f"m{i}\n", genre="mystery") for i in range(12)]
    docs += [story(f"s{i}\n", genre="satire") for i in range(6)]
    docs += [story(f"c{i}\n", principle="honesty/calibration") for i in range(2)]
    return docs


def test_sample_follows_strata_and_is_seeded() -> None:
    docs = _corpus()
    sample, report = stratified_sample(docs, 10, ("principle", "genre"), seed=3)
    counts = Counter((d.principle_ids[0], d.provenance.seed["genre"]) for d in sample)
    assert counts == {
        ("honesty/truthfulness", "mystery"): 6,
        ("honesty/truthfulness", "satire"): 3,
        ("honesty/calibration", "mystery"): 1,
    }
    assert report[("honesty/calibration", "mystery")] == (2, 1)
    again, _ = stratified_sample(docs, 10, ("principle", "genre"), seed=3)
    assert [d.id for d in again] == [d.id for d in sample]
    other, _ = stratified_sample(docs, 10, ("principle", "genre"), seed=4)
    assert [d.id for d in other] != [d.id for d in sample]
    positions = [docs.index(d) for d in sample]
    assert positions == sorted(positions)  # corpus order is kept


def test_unknown_strata_and_bad_specs_are_refused() -> None:
    with pytest.raises(InputError, match="--stratify: no document has 'genr'"):
        stratified_sample(_corpus(), 3, ("genr",))
    with pytest.raises(InputError, match="empty name"):
        parse_stratify("principle,,genre")
    assert parse_stratify(" principle , template ") == ("principle", "template")


def test_import_with_a_sample(tmp_path: Path) -> None:
    corpus = write_corpus(_corpus(), tmp_path / "c.jsonl")
    result = import_corpus(corpus, tmp_path / "r.db", sample=6, stratify=("genre",), seed=1)
    assert (result["candidates"], result["selected"], result["added"]) == (20, 6, 6)
    assert {tuple(s["stratum"]): s["taken"] for s in result["strata"]} == {
        ("mystery",): 4,
        ("satire",): 2,
    }
    with ReviewStore.open(tmp_path / "r.db") as store:
        assert store.count() == 6
