"""`ccorpus review import | export | stats | serve` through the typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from tests.test_review_support import REASONS, stories, story, write_corpus
from toolkit.cli.app import main
from toolkit.cli.review import app
from toolkit.errors import InputError
from toolkit.io import read_documents
from toolkit.review import ReviewStore


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    typer.main.get_command(app).main(list(args), standalone_mode=False)
    return capsys.readouterr().out


def test_import_export_stats_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    docs = [*stories(3), story("Other genre.\n", genre="satire")]
    write_corpus(docs, Path("corpus.jsonl"))
    out = run(capsys, "import", "corpus.jsonl", "--db", "r.db", "--json")
    assert json.loads(out)["added"] == 4
    out = run(capsys, "import", "corpus.jsonl", "--db", "r.db")
    assert "0 added, 4 already in r.db (4 items in all)" in out
    with ReviewStore.open("r.db") as store:
        store.decide(docs[0].id, "accepted", reviewer="ann", based_on=1)
        store.decide(docs[1].id, "rejected", reviewer="ann", based_on=1, reasons=["preachy"])

    exported = json.loads(run(capsys, "export", "--db", "r.db", "--out", "acc", "--json"))
    assert exported["documents"] == 1
    assert [d.id for d in read_documents("acc")] == [docs[0].id]
    text = run(capsys, "export", "--db", "r.db", "--out", "rej", "--status", "rejected")
    assert text.strip() == "wrote 1 rejected documents (0 edited) to rej"

    figures = json.loads(run(capsys, "stats", "--db", "r.db", "--json"))
    assert figures["progress"]["decided"] == 2
    assert figures["reasons"] == {"preachy": 1}
    text = run(capsys, "stats", "--db", "r.db")
    assert "reviewed 2 of 4 (50.0%)" in text
    assert "acceptance by genre: 2 values; 50% (mystery), the only one decided" in text
    assert "50% of    2 decided  mystery" not in text
    text = run(capsys, "stats", "--db", "r.db", "--verbose")
    assert "50% of    2 decided  mystery" in text
    assert "ann: 2 decisions on 2 items" in text
    assert "no item has been reviewed by two different reviewers" in text


def test_import_a_stratified_sample(capsys: pytest.CaptureFixture[str]) -> None:
    docs = [story(f"m{i}\n") for i in range(8)] + [story(f"s{i}\n", genre="satire") for i in (1, 2)]
    write_corpus(docs, Path("c.jsonl"))
    out = run(
        capsys,
        "import",
        "c.jsonl",
        "--db",
        "r.db",
        "--sample",
        "5",
        "--stratify",
        "genre",
        "--seed",
        "7",
        "--verbose",
    )
    assert "selected 5: 5 added" in out
    assert "    4 of     8  mystery" in out and "    1 of     2  satire" in out
    out = run(capsys, "import", "c.jsonl", "--db", "s.db", "--sample", "5", "--stratify", "genre")
    assert out.splitlines()[1:] == [
        "2 strata by genre; smallest 1, largest 4 taken (--verbose lists each)"
    ]


def test_errors_are_raised_for_the_root_app_to_report(capsys: pytest.CaptureFixture[str]) -> None:
    write_corpus(stories(1), Path("c.jsonl"))
    with pytest.raises(InputError, match="no review database"):
        run(capsys, "stats", "--db", "missing.db")
    with pytest.raises(InputError, match="--kinds: 'tale'"):
        run(capsys, "import", "c.jsonl", "--db", "r.db", "--kinds", "tale")
    with pytest.raises(InputError, match="no such reasons file"):
        run(capsys, "serve", "--db", "missing.db", "--reasons", "none.txt")
    with pytest.raises(InputError, match="no review database"):
        run(capsys, "serve", "--db", "missing.db")  # the shipped reasons load from anywhere


def test_import_refuses_an_oversized_document_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    big = story("word " * 20_000)  # a ~100 KB record
    write_corpus([*stories(2), big], Path("c.jsonl"))
    capsys.readouterr()
    args = ["review", "import", "c.jsonl", "--db", "r.db", "--quiet"]
    assert main([*args, "--max-item-bytes", "50000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: c.jsonl: document ")
    assert big.id in err and "over the review import limit of 50000 bytes" in err
    assert not Path("r.db").exists()  # refused before anything was written
    assert main(args) == 0  # the default limit (256 KiB) lets it in
    with ReviewStore.open("r.db") as store:
        assert store.count() == 3


def test_serve_checks_its_inputs_before_listening(capsys: pytest.CaptureFixture[str]) -> None:
    write_corpus(stories(1), Path("c.jsonl"))
    run(capsys, "import", "c.jsonl", "--db", "r.db")
    Path("reasons.txt").write_text("".join(f"{k}: {v}\n" for k, v in REASONS.items()))
    with pytest.raises(InputError, match=r"--guidelines nope\.md: no such file"):
        run(capsys, "serve", "--db", "r.db", "--reasons", "reasons.txt", "--guidelines", "nope.md")
    with pytest.raises(InputError, match="no review database"):
        run(capsys, "serve", "--db", "other.db", "--reasons", "reasons.txt")


def test_every_review_command_has_help() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert sorted(group.commands) == ["export", "import", "serve", "stats"]
    for name, command in group.commands.items():
        assert (command.help or "").strip(), name
        for param in command.params:
            if param.param_type_name == "option":
                assert (getattr(param, "help", None) or "").strip(), f"{name} {param.opts[0]}"
