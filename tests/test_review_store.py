"""The review store: schema, versioned writes, history and the append-only audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_review_support import REASONS, make_db, stories, story, write_corpus
from toolkit.errors import ConfigError, InputError
from toolkit.review import (
    SCHEMA_VERSION,
    Filters,
    ItemNotFound,
    ReviewStore,
    StaleWrite,
    connect,
    import_corpus,
    parse_reasons,
)
from toolkit.review.importer import record_bytes
from toolkit.review.reasons import DEFAULT_REASONS, load_reasons

ROOT = Path(__file__).resolve().parents[1]


def test_new_database_is_wal_and_at_the_current_schema(tmp_path: Path) -> None:
    conn = connect(tmp_path / "r.db", create=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    connect(tmp_path / "r.db").close()  # reopening migrates nothing and keeps it


def test_missing_newer_or_foreign_databases_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no review database"):
        connect(tmp_path / "absent.db")
    newer = tmp_path / "newer.db"
    raw = sqlite3.connect(newer)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(InputError, match="newer than this ccorpus"):
        connect(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InputError, match="not a usable review database"):
        connect(junk)


def test_decide_records_reviewer_reasons_and_bumps_version(tmp_path: Path) -> None:
    db = make_db(tmp_path, stories(2))
    with ReviewStore.open(db) as store:
        first = store.items()[0]
        assert (first.status, first.version) == ("pending", 1)
        item = store.decide(
            first.doc_id,
            "rejected",
            reviewer=" ann ",
            based_on=1,
            reasons=["preachy", "preachy", "incoherent"],
            notes="  lectures  ",
            allowed_reasons=REASONS,
        )
        assert (item.status, item.version) == ("rejected", 2)
        (decision,) = store.decisions(first.doc_id)
        assert decision.reviewer == "ann"
        assert decision.reasons == ("preachy", "incoherent")
        assert decision.notes == "lectures"
        assert store.progress() == {
            "pending": 1,
            "accepted": 0,
            "rejected": 1,
            "needs-edit": 0,
            "total": 2,
            "decided": 1,
        }


@pytest.mark.parametrize(
    ("status", "reviewer", "reasons", "message"),
    [
        ("maybe", "ann", [], "decision: 'maybe' is not one of"),
        ("accepted", "  ", [], "reviewer: a name is required"),
        ("rejected", "ann", ["nope"], "reason: 'nope' is not one of incoherent, off-principle"),
    ],
)
def test_bad_decisions_name_what_is_wrong(
    tmp_path: Path, status: str, reviewer: str, reasons: list[str], message: str
) -> None:
    db = make_db(tmp_path, stories(1))
    with ReviewStore.open(db) as store:
        doc_id = store.items()[0].doc_id
        with pytest.raises(InputError, match=message):
            store.decide(
                doc_id,
                status,
                reviewer=reviewer,
                based_on=1,
                reasons=reasons,
                allowed_reasons=REASONS,
            )
        assert store.get(doc_id).version == 1


def test_stale_writes_are_refused_and_change_nothing(tmp_path: Path) -> None:
    db = make_db(tmp_path, stories(1))
    with ReviewStore.open(db) as ann, ReviewStore.open(db) as bob:
        doc_id = ann.items()[0].doc_id
        ann.edit(doc_id, "A better story.\n", reviewer="ann", based_on=1, reason="tighter")
        with pytest.raises(StaleWrite) as caught:
            bob.decide(doc_id, "accepted", reviewer="bob", based_on=1)
        assert (caught.value.based_on, caught.value.current) == (1, 2)
        assert "changed by someone else" in str(caught.value)
        with pytest.raises(StaleWrite):
            bob.edit(doc_id, "Bob's story.\n", reviewer="bob", based_on=1, reason="mine")
        item = bob.get(doc_id)
        assert (item.text, item.status, item.version) == ("A better story.\n", "pending", 2)
        assert [e["action"] for e in bob.audit(doc_id)] == ["edit"]
        with pytest.raises(ItemNotFound):
            bob.decide("nope", "accepted", reviewer="bob", based_on=1)


def test_edits_keep_versions_with_diffs_and_the_original(tmp_path: Path) -> None:
    db = make_db(tmp_path, [story("Line one.\nLine two.\n")])
    with ReviewStore.open(db) as store:
        doc_id = store.items()[0].doc_id
        with pytest.raises(InputError, match="nothing changed"):
            store.edit(doc_id, "Line one.\nLine two.\n", reviewer="ann", based_on=1, reason="x")
        with pytest.raises(InputError, match="edit reason"):
            store.edit(doc_id, "Line one.\n", reviewer="ann", based_on=1, reason=" ")
        store.edit(doc_id, "Line one.\nLine 2.\n", reviewer="ann", based_on=1, reason="typo")
        item = store.edit(doc_id, "Line 1.\nLine 2.\n", reviewer="bob", based_on=2, reason="more")
        assert item.edited and item.original_text == "Line one.\nLine two.\n"
        first, second = store.edits(doc_id)
        assert first.version == 2 and second.version == 3
        assert f"--- {doc_id}@v1" in first.diff and "-Line two." in first.diff
        assert "+Line 2." in first.diff and second.reviewer == "bob"


def test_history_tables_are_append_only(tmp_path: Path) -> None:
    db = make_db(tmp_path, stories(1))
    with ReviewStore.open(db) as store:
        doc_id = store.items()[0].doc_id
        store.decide(doc_id, "accepted", reviewer="ann", based_on=1)
        for table in ("audit", "decisions"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                store.conn.execute(f"UPDATE {table} SET reviewer = 'mallory'")
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                store.conn.execute(f"DELETE FROM {table}")
        assert [e["action"] for e in store.audit()] == ["import", "decide"]


def test_reimport_is_idempotent_and_keeps_review_work(tmp_path: Path) -> None:
    docs = stories(3)
    corpus = write_corpus(docs, tmp_path / "corpus.jsonl")
    db = tmp_path / "r.db"
    assert import_corpus(corpus, db)["added"] == 3
    with ReviewStore.open(db) as store:
        store.decide(docs[0].id, "accepted", reviewer="ann", based_on=1)
    more = write_corpus([*docs, story("A new one.\n")], tmp_path / "more.jsonl")
    result = import_corpus(more, db)
    assert (result["added"], result["already_present"], result["items_in_db"]) == (1, 3, 4)
    with ReviewStore.open(db) as store:
        assert store.get(docs[0].id).status == "accepted"
        assert [i.doc_id for i in store.items()][:3] == [d.id for d in docs]


def test_import_only_the_chosen_kinds(tmp_path: Path) -> None:
    from toolkit.document import Document

    docs = [*stories(2), Document.create("explainer", "Why honesty matters.")]
    corpus = write_corpus(docs, tmp_path / "c.jsonl")
    result = import_corpus(corpus, tmp_path / "r.db")
    assert (result["read"], result["candidates"], result["added"]) == (3, 2, 2)
    with pytest.raises(InputError, match="--kinds: 'tale' is not one of"):
        import_corpus(corpus, tmp_path / "r.db", kinds=("tale",))


def test_import_refuses_an_item_over_the_size_limit_and_writes_nothing(tmp_path: Path) -> None:
    from toolkit.document import Document

    db = tmp_path / "r.db"
    import_corpus(write_corpus(stories(2), tmp_path / "first.jsonl"), db)
    big = story("A long one. " * 100)
    limit = record_bytes(big)
    huge_explainer = Document.create("explainer", "x" * (2 * limit))  # not imported: no check
    shards = tmp_path / "shards"
    write_corpus([story("A satire.\n", genre="satire")], shards / "part-00000.jsonl")
    write_corpus([big, huge_explainer], shards / "part-00001.jsonl")
    with pytest.raises(InputError) as err:
        import_corpus(shards, db, max_item_bytes=limit - 1)
    message = str(err.value)
    assert message.startswith(f"{shards / 'part-00001.jsonl'}: document {big.id} is {limit} bytes")
    assert f"limit of {limit - 1} bytes" in message and "--max-item-bytes" in message
    with ReviewStore.open(db) as store:
        assert store.count() == 2  # the satire story before it was not imported either
    assert import_corpus(shards, db, max_item_bytes=limit)["added"] == 2  # the limit is inclusive


def test_filters_select_by_principle_genre_flags_and_quality(tmp_path: Path) -> None:
    docs = [
        story("a\n", genre="mystery", metadata={"quality": {"score": 0.9}}),
        story("b\n", genre="satire", metadata={"quality": {"score": 0.2}, "dedup": {"x": 1}}),
        story("c\n", principle="honesty/calibration", metadata={"contamination": {"hits": [{}]}}),
    ]
    db = make_db(tmp_path, docs)
    with ReviewStore.open(db) as store:

        def ids(**query: str) -> list[str]:
            return [i.doc_id for i in store.items(Filters.from_query(query))]

        assert ids() == [d.id for d in docs]
        assert ids(genre="satire") == [docs[1].id]
        assert ids(principle="honesty/calibration") == [docs[2].id]
        assert ids(qmin="0.5") == [docs[0].id]
        assert ids(duplicate="yes") == [docs[1].id]
        assert ids(contaminated="yes") == [docs[2].id]
        assert ids(contaminated="no", duplicate="no") == [docs[0].id]
        assert ids(status="accepted") == []
        assert Filters.from_query({"genre": "satire", "status": "all"}).query() == (
            "status=all&genre=satire"
        )
        with pytest.raises(InputError, match="qmin: expected a number"):
            Filters.from_query({"qmin": "high"})
        with pytest.raises(InputError, match="status: 'done' is not one of"):
            Filters.from_query({"status": "done"})


def test_reason_files_parse_and_errors_name_the_line(tmp_path: Path) -> None:
    assert parse_reasons("# c\n\nfoo: a thing\nbar-2: another\n") == {
        "foo": "a thing",
        "bar-2": "another",
    }
    with pytest.raises(ConfigError, match=r"r.txt:2: expected 'code: description'"):
        parse_reasons("ok: fine\nno description\n", "r.txt")
    with pytest.raises(ConfigError, match=r":2: code 'ok' appears twice"):
        parse_reasons("ok: a\nok: b\n")
    with pytest.raises(ConfigError, match="must be lowercase"):
        parse_reasons("Bad Code: x\n")
    with pytest.raises(InputError, match="no such reasons file; pass --reasons"):
        load_reasons(tmp_path / "none.txt")


def test_the_shipped_reasons_file_loads_from_the_package_wherever_we_run() -> None:
    assert not Path("stories").exists()  # the cwd is an empty tmp_path
    reasons = load_reasons()
    assert "off-principle" in reasons and "other" in reasons
    assert DEFAULT_REASONS.is_relative_to(ROOT / "toolkit")
