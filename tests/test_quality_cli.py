"""`ccorpus quality` commands, run in-process through the root app as a user would."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer

from tests.helpers import Result, run_cli
from toolkit.cli.quality import app
from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import check_output, read_documents, write_documents

FIXTURES = Path(__file__).parent / "fixtures" / "quality"


def _clean_story() -> str:
    with (FIXTURES / "documents.toml").open("rb") as handle:
        docs = tomllib.load(handle)["doc"]
    return str(next(d["text"] for d in docs if d["name"] == "clean_story"))


STORY = _clean_story()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return run_cli(capsys, "quality", *args)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = [
        Document.create("story", STORY),
        Document.create("story", "Too short to teach anything."),
        Document.create("advice", "Sure! Here's a dialogue. " + STORY),
    ]
    path = tmp_path / "corpus.jsonl"
    write_documents(docs, path, compress=False)
    return path


def test_score_prints_json_and_writes_scores(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    result = run(capsys, "score", str(corpus), "--out", str(tmp_path / "out"), "--json", "-q")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["documents"] == 3 and summary["by_kind"] == {"advice": 1, "story": 2}
    assert summary["grounding"] == "off"
    lines = (tmp_path / "out" / "scores.jsonl").read_text().splitlines()
    assert [set(json.loads(line)) for line in lines] == [
        {"id", "kind", "scores", "profile_version"}
    ] * 3


def test_filter_prints_counts_per_reason(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(capsys, "filter", str(corpus), "--out", str(out), "--json", "--quiet")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["kept"], summary["dropped"]) == (1, 2)
    assert summary["reasons"] == {"too_short": 1, "meta_text": 1}
    for name in ("kept", "rejected", "scores.jsonl", "summary.json"):
        assert (out / name).exists()

    table = run(capsys, "filter", str(corpus), "--out", str(out), "--scores",
                str(out / "scores.jsonl"), "--overwrite", "-q")  # fmt: skip
    assert table.code == 0, table.err
    assert "rejected               2" in table.out and "  too_short" in table.out


def test_profile_error_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text('version = "x"\n[story.short]\nsignal = "wordcount"\nmin = 5\n')
    result = run(capsys, "filter", str(corpus), "--out", str(tmp_path / "o"),
                 "--profile", str(profile), "-q")  # fmt: skip
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: {profile}: key 'story.short.signal'")
    assert "valid signals: words" in result.err


def test_unknown_spacy_model_is_one_line(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    result = run(capsys, "score", str(corpus), "--out", str(tmp_path / "o"),
                 "--spacy-model", "xx_missing_pipeline", "-q")  # fmt: skip
    assert result.code == 2 and result.err.count("\n") == 1
    assert "xx_missing_pipeline" in result.err


def test_grounding_with_a_constitution_without_embeddings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    doc = Document.create("explainer", STORY, principle_ids=["honesty"])
    write_documents([doc], path, compress=False)
    result = run(capsys, "score", str(path), "--out", str(tmp_path / "o"), "--constitution",
                 str(FIXTURES / "constitution.md"), "--no-embed", "--json", "-q")  # fmt: skip
    assert json.loads(result.out)["grounding"] == "lexical"
    scores = json.loads((tmp_path / "o" / "scores.jsonl").read_text())["scores"]
    assert scores["grounding_cosine"] is None and scores["grounding_lexical"] is not None


def test_every_command_has_help_and_json() -> None:
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert set(commands) == {"score", "filter", "judge"}
    for name, command in commands.items():
        assert (command.help or "").strip(), name
        options = [p for p in command.params if p.param_type_name == "option"]
        assert any("--json" in p.opts for p in options), name
        assert all((p.help or "").strip() for p in options), name


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    assert run(capsys, "score", str(corpus), "--no-such-flag").code == 2


def test_judge_unknown_backend_is_one_line(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    result = run(capsys, "judge", str(corpus), "--out", str(tmp_path / "j"), "--constitution",
                 str(FIXTURES / "constitution.md"), "--backend", "nope", "-q")  # fmt: skip
    assert result.code == 2 and result.err.count("\n") == 1 and "nope" in result.err


@pytest.mark.parametrize("command", ["score", "filter"])
def test_an_empty_corpus_exits_2_unless_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "out"
    result = run(capsys, command, str(empty), "--out", str(out), "-q")
    assert result.code == 2
    assert (
        result.err == f"error: {empty}: no documents; pass --allow-empty to write empty outputs\n"
    )
    assert not out.exists()
    result = run(capsys, command, str(empty), "--out", str(out), "--allow-empty", "--json", "-q")
    assert result.code == 0, result.err
    assert json.loads(result.out)["documents"] == 0


def test_filter_outputs_are_vouched_for_by_a_marker_written_last(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run(capsys, "filter", str(corpus), "--out", str(out), "-q").code == 0
    marker = json.loads((out / "stage.json").read_text())
    assert marker["stage"] == "quality" and marker["complete"] is True
    assert marker["outputs"] == ["kept", "rejected", "summary.json"]
    assert set(marker["files"]) == {
        "kept/part-00000.jsonl.zst",
        "rejected/part-00000.jsonl.zst",
        "summary.json",
    }
    assert len(list(read_documents(out / "kept"))) == 1
    (out / "summary.json").write_text("{}")  # changed behind the marker's back
    with pytest.raises(InputError, match=r"summary\.json is 2 bytes, not the \d+ it wrote"):
        check_output(out / "summary.json")
