"""`ccorpus dedup` end to end (exact and near stages: no model needed), and its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from tests.helpers import run_cli
from toolkit.cli.dedup import dedup_command
from toolkit.dedup import DedupConfig, deduplicate, markdown_report
from toolkit.document import Document
from toolkit.io import read_documents, write_documents

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
