"""The README and --help are a contract: they must match the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli
from toolkit.cli.reference import commands, replace_reference

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Commands that print no figures, so need no --json.
NO_FIGURES: set[str] = {"ccorpus review serve"}
# Commands that never draw a progress bar, so need no -q/--quiet: each reads
# one small file or a database summary, or serves until stopped.
NO_PROGRESS: dict[str, str] = {
    "ccorpus constitution diff": "parses two Markdown files",
    "ccorpus constitution show": "parses one Markdown file",
    "ccorpus constitution stats": "parses one Markdown file",
    "ccorpus generate status": "reads a run's journal summary",
    "ccorpus mix inspect": "reads one manifest",
    "ccorpus review serve": "serves until stopped",
    "ccorpus review stats": "one SQL summary",
}


def test_readme_cli_reference_is_current() -> None:
    text = README.read_text()
    assert replace_reference(text) == text, "run `make docs` to regenerate the CLI reference"


def test_readme_shows_the_two_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in commands()])
def test_every_command_has_help(path: str) -> None:
    command = dict((" ".join(p), c) for p, c in commands())[path]
    assert (command.help or "").strip(), f"{path} has no help text"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            assert (param.help or "").strip(), f"{path} {param.opts[0]} has no help text"
    if path not in NO_FIGURES:
        assert any("--json" in getattr(p, "opts", ()) for p in command.params), (
            f"{path} prints figures but has no --json"
        )


def test_every_command_that_can_show_progress_takes_quiet() -> None:
    paths = {" ".join(p): c for p, c in commands()}
    assert set(NO_PROGRESS) <= set(paths), "NO_PROGRESS names a command the app lacks"
    for path, command in paths.items():
        quiet = [p for p in command.params if "--quiet" in getattr(p, "opts", ())]
        if path in NO_PROGRESS:
            assert not quiet, f"{path} takes --quiet: drop it from NO_PROGRESS"
            continue
        assert quiet, f"{path} has no --quiet (or list it in NO_PROGRESS with why)"
        assert "-q" in quiet[0].opts, f"{path}: --quiet has no -q"


def test_every_command_answers_help(capsys: pytest.CaptureFixture[str]) -> None:
    for path, _ in commands():
        result = run_cli(capsys, *path[1:], "--help")
        assert result.code == 0 and "Usage:" in result.out, path


def test_usage_error_exits_2_and_unknown_file_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(capsys, "corpus", "stats", "--no-such-flag")
    assert result.code == 2
    result = run_cli(capsys, "corpus", "stats", "missing.jsonl")
    assert result.code == 2
    assert result.err == "error: missing.jsonl: no such file or directory\n"
