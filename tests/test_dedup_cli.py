"""`ccorpus dedup` end to end (exact and near stages: no model needed), and its report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.helpers import run_cli
from toolkit.cli.dedup import dedup_command
from toolkit.dedup import DedupConfig, deduplicate, markdown_report
from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import read_documents, write_documents
from toolkit.pipeline.state import BuildState

BASE = " ".join(f"word{i % 97} item{i % 13}" for i in range(150))


@pytest.fixture
def dedup_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ccorpus dedup` through the real `main`, until the root app registers it itself."""
    import toolkit.cli.app as root

    if any(c.name == "dedup" for c in root.app.registered_commands):
        return
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("dedup")(dedup_command)
    monkeypatch.setattr(root, "app", app)


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[Document]]:
    docs = [
        Document.create("story", "The agent asked first. " + BASE),
        Document.create("story", "the AGENT asked first " + BASE + "!"),
        Document.create(
            "story", "The agent asked first. " + BASE.replace("word5 ", "wordfive ", 1)
        ),
        Document.create("advice", "Keep a log of every irreversible action and say so."),
    ]
    path = tmp_path / "corpus.jsonl"
    write_documents(docs, path)
    return path, docs


def test_cli_writes_kept_rejected_and_reports(
    tmp_path: Path,
    corpus: tuple[Path, list[Document]],
    capsys: pytest.CaptureFixture[str],
    dedup_cli: None,
) -> None:
    path, docs = corpus
    out = tmp_path / "out"
    result = run_cli(capsys, "dedup", str(path), "--out", str(out), "--stages", "exact,near")
    assert result.code == 0, result.err
    assert "4 documents: 2 kept, 2 dropped" in result.out
    kept = list(read_documents(out / "kept"))
    rejected = list(read_documents(out / "rejected"))
    assert len(kept) == 2 and len(rejected) == 2
    assert docs[3] in kept
    reasons = {d.metadata["rejected"]["reason"] for d in rejected}
    assert reasons == {"exact-duplicate", "near-duplicate"}
    for doc in rejected:
        meta = doc.metadata["rejected"]
        assert meta["stage"] == "dedup" and meta["duplicate_of"] and 0 < meta["score"] <= 1
        assert meta["survivor"] in {d.id for d in kept}
    assert (out / "dedup_report.json").exists() and (out / "dedup_report.md").exists()


def test_json_summary_and_report_structure(
    tmp_path: Path,
    corpus: tuple[Path, list[Document]],
    capsys: pytest.CaptureFixture[str],
    dedup_cli: None,
) -> None:
    path, _ = corpus
    report_path = tmp_path / "reports" / "run.json"
    args = ["dedup", str(path), "--out", str(tmp_path / "o"), "--stages", "near,exact"]
    result = run_cli(capsys, *args, "--report", str(report_path), "--json", "--quiet")
    assert result.code == 0 and result.err == ""
    summary = json.loads(result.out)
    assert summary["kept"] == 2 and list(summary["stages"]) == ["exact", "near"]
    report = json.loads(report_path.read_text())
    assert report["kept"] == 2 and report["documents"] == 4
    for stage in ("exact", "near"):
        assert {"input", "dropped", "clusters", "seconds"} <= set(report["stages"][stage])
    assert report["stages"]["near"]["input"] == 3  # the exact stage ran first
    for entry in report["dropped"]:
        assert {"id", "duplicate_of", "stage", "score", "kept_because"} <= set(entry)
    assert sum(c["size"] - 1 for c in report["clusters"]) == len(report["dropped"])
    assert report["cluster_sizes"] == {"2": 2}
    markdown = report_path.with_suffix(".md").read_text()
    assert markdown == markdown_report(report)
    assert "| exact | 4 | 1 | 1 |" in markdown and "| 2 | 2 |" in markdown
    assert "Kept because:" in markdown and "The agent asked first" in markdown


def test_unknown_stage_exits_2_naming_the_valid_ones(
    tmp_path: Path,
    corpus: tuple[Path, list[Document]],
    capsys: pytest.CaptureFixture[str],
    dedup_cli: None,
) -> None:
    path, _ = corpus
    result = run_cli(capsys, "dedup", str(path), "--out", str(tmp_path), "--stages", "exact,fuzz")
    assert result.code == 2
    assert result.err == (
        "error: stages: unknown stage 'fuzz'; expected one or more of exact, near, semantic\n"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--near-threshold", "1.5"], "near_threshold"),
        (["--bands", "0"], "bands"),
        (["--report", "r.md"], "ends in .md"),
    ],
)
def test_bad_settings_exit_2(
    tmp_path: Path,
    corpus: tuple[Path, list[Document]],
    capsys: pytest.CaptureFixture[str],
    dedup_cli: None,
    extra: list[str],
    message: str,
) -> None:
    path, _ = corpus
    result = run_cli(capsys, "dedup", str(path), "--out", str(tmp_path / "o"), "-q", *extra)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1


def test_missing_corpus_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dedup_cli: None
) -> None:
    result = run_cli(capsys, "dedup", "missing.jsonl", "--out", str(tmp_path / "o"))
    assert result.code == 2 and result.err == "error: missing.jsonl: no such file or directory\n"


def test_library_and_cli_agree(tmp_path: Path, corpus: tuple[Path, list[Document]]) -> None:
    path, _ = corpus
    report = deduplicate(path, tmp_path / "lib", DedupConfig(stages=("exact", "near"), quiet=True))
    assert report["kept"] == 2
    assert report["out"]["kept"] == str(tmp_path / "lib" / "kept")


_KILLED_DEDUP = """
import os, signal, sys
from toolkit.dedup import DedupConfig, deduplicate

corpus, out, stop_at = sys.argv[1:4]


def commit(step: str) -> None:
    if step == stop_at:
        os.kill(os.getpid(), signal.SIGKILL)


config = DedupConfig(stages=("exact", "near"), quiet=True)
deduplicate(corpus, out, config, on_commit=commit, overwrite=True)
"""


def _consistent(out: Path) -> dict[str, object]:
    """What readers see of out/: a report agreeing with kept/ and rejected/, or an error."""
    try:
        kept = list(read_documents(out / "kept"))
        rejected = list(read_documents(out / "rejected"))
    except InputError as err:
        return {"error": str(err)}
    report = json.loads((out / "dedup_report.json").read_text())
    assert report["kept"] == len(kept) and report["dropped_count"] == len(rejected)
    assert {d["id"] for d in report["dropped"]} == {d.id for d in rejected}
    return {"documents": report["documents"]}


@pytest.mark.parametrize("stop_at", ["begun", "split", "report", "complete"])
def test_a_kill_at_any_step_leaves_no_report_disagreeing_with_its_outputs(
    tmp_path: Path,
    corpus: tuple[Path, list[Document]],
    capsys: pytest.CaptureFixture[str],
    stop_at: str,
) -> None:
    older = tmp_path / "older.jsonl"
    advice = [Document.create("advice", f"Older advice number {i}, on its own.") for i in range(6)]
    write_documents([*advice, advice[0]], older)
    out = tmp_path / "out"
    config = DedupConfig(stages=("exact", "near"), quiet=True)
    deduplicate(older, out, config)
    assert _consistent(out) == {"documents": 7}
    state = BuildState(tmp_path / "build.json")
    state.record("dedup", "key", "digest", {})
    outputs = [out / "kept", out / "dedup_report.json"]
    assert state.fresh("dedup", "key", outputs)
    path, _ = corpus
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED_DEDUP, str(path), str(out), stop_at],
        cwd=Path(__file__).resolve().parents[1],
    ) as child:
        assert child.wait() == -signal.SIGKILL
    seen = _consistent(out)
    if stop_at == "complete":
        assert seen == {"documents": 4}
    else:
        assert seen["error"] == (
            f"{out / 'kept'}: incomplete output: the dedup run writing it did not finish "
            f"(see {out / 'stage.json'}); rerun dedup with --overwrite to replace it"
        )
        assert (out / "dedup_report.json").exists() == (stop_at == "report")
        assert not state.fresh("dedup", "key", outputs)  # the build runs dedup again
        result = run_cli(capsys, "review", "import", str(out / "kept"), "--db", "r.db", "-q")
        assert result.code == 2 and result.err.count("\n") == 1
        assert "incomplete output: the dedup run writing it did not finish" in result.err
    # The next run removes the killed writer's temp files (not a live writer's)
    # and leaves outputs that agree.
    dead = out / "kept" / f".part-00000.jsonl.zst.{child.pid}.tmp"
    live = out / f".notes.json.{os.getpid()}.tmp"
    for leftover in (dead, live):
        leftover.write_bytes(b"partial")
    deduplicate(path, out, config, overwrite=True)
    assert _consistent(out) == {"documents": 4}
    assert not dead.exists() and live.exists()
    assert state.fresh("dedup", "key", outputs)


def test_an_empty_corpus_exits_2_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dedup_cli: None
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "out"
    result = run_cli(capsys, "dedup", str(empty), "--out", str(out), "--stages", "exact", "-q")
    assert result.code == 2
    assert (
        result.err == f"error: {empty}: no documents; pass --allow-empty to write empty outputs\n"
    )
    assert not out.exists()
    args = ["dedup", str(empty), "--out", str(out), "--stages", "exact", "--allow-empty", "-q"]
    result = run_cli(capsys, *args)
    assert result.code == 0, result.err
    assert _consistent(out) == {"documents": 0}
