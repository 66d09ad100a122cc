"""Conventions every command keeps: one-line usage errors, help in pipeline order with
whole summaries, one overwrite policy, and human output free of Python reprs."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.generate_support import ATTRIBUTES, write_small
from tests.helpers import Result, run_cli
from tests.test_mix_helpers import tiny_tokenizer, write_spec
from toolkit.cli.app import PIPELINE, app
from toolkit.cli.common import summary
from toolkit.cli.reference import commands
from toolkit.contamination import CheckOptions
from toolkit.contamination.judge import JudgeSetup
from toolkit.dedup import DedupConfig
from toolkit.errors import InputError
from toolkit.io import read_documents, refuse_existing, write_documents
from toolkit.quality.judge import JUDGE_FILE, judge_corpus

REPR = re.compile(r"\{'|\['|\bNone\b|\bTrue\b|\bFalse\b")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["corpus", "stats", "c.jsonl", "--jsn"],
            "error: no such option --jsn (did you mean --json?); "
            "see 'ccorpus corpus stats --help'\n",
        ),
        (
            ["corpus", "stats"],
            "error: missing argument 'CORPUS'; see 'ccorpus corpus stats --help'\n",
        ),
        (
            ["corpus", "convert", "c.jsonl"],
            "error: missing option '--out'; see 'ccorpus corpus convert --help'\n",
        ),
        (["nope"], "error: no such command 'nope'; see 'ccorpus --help'\n"),
        (
            ["corpus", "stats", "a", "b"],
            "error: got unexpected extra argument(s) (b); see 'ccorpus corpus stats --help'\n",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_and_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    result = run_cli(capsys, *args)
    assert (result.code, result.out, result.err) == (2, "", line)


def test_a_bad_value_is_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "constitution", "show", "x.md", "--depth", "deep")
    assert result.code == 2 and result.out == "" and result.err.count("\n") == 1
    assert result.err.startswith("error: invalid value for '--depth': ")
    assert result.err.endswith("; see 'ccorpus constitution show --help'\n")


@pytest.mark.parametrize("group", [[], ["generate"], ["review"], ["contamination"]])
def test_a_bare_command_group_prints_its_help_and_exits_0(
    capsys: pytest.CaptureFixture[str], group: list[str]
) -> None:
    result = run_cli(capsys, *group)
    assert result.code == 0 and result.err == ""
    assert result.out.startswith(f"Usage: {' '.join(['ccorpus', *group])} [OPTIONS] COMMAND")


def _listed(help_text: str) -> list[str]:
    return help_text.split("Commands:\n", 1)[1].splitlines()


def test_help_lists_the_pipeline_in_order_each_summary_whole_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    root: Any = typer.main.get_command(app)
    assert [line.split()[0] for line in _listed(run_cli(capsys, "--help").out)] == list(PIPELINE)
    groups = {(): root} | {
        (name,): root.commands[name]
        for name in PIPELINE
        if hasattr(root.commands[name], "commands")
    }
    for path, group in groups.items():
        listed = _listed(run_cli(capsys, *path, "--help").out)
        assert not any("..." in line or "\u2026" in line for line in listed), listed
        assert len(listed) == len(group.commands), f"{path}: a summary wraps"
        for line in listed:
            name, shown = line.split(maxsplit=1)
            assert shown == summary(group.commands[name]), path
    assert next(commands())[0] == ("ccorpus", "build")  # the README's reference: the same order


def test_refuse_existing_names_the_output_and_the_flag(tmp_path: Path) -> None:
    (tmp_path / "out" / "kept").mkdir(parents=True)
    refuse_existing([tmp_path / "out" / "kept"], overwrite=False)  # an empty folder is no output
    (tmp_path / "out" / "kept" / ".cache").mkdir()
    refuse_existing([tmp_path / "out" / "kept"], overwrite=False)  # nor is a hidden cache
    (tmp_path / "out" / "kept" / "part-00000.jsonl").write_text("")
    (tmp_path / "out" / "report.json").write_text("{}")
    with pytest.raises(InputError) as one:
        refuse_existing([tmp_path / "out" / "report.json"], overwrite=False)
    assert (
        str(one.value)
        == f"{tmp_path / 'out' / 'report.json'} exists; pass --overwrite to replace it"
    )
    outputs = [
        tmp_path / "out" / "kept",
        tmp_path / "out" / "rejected",
        tmp_path / "out" / "report.json",
    ]
    with pytest.raises(InputError) as many:
        refuse_existing(outputs, overwrite=False)
    assert str(many.value) == (
        f"{tmp_path / 'out'} holds an earlier output (kept/, report.json); "
        "pass --overwrite to replace it"
    )
    refuse_existing(outputs, overwrite=True)


def _writes(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> Result:
    """Run a command that writes: then again, refused naming --overwrite; then with it."""
    first = run_cli(capsys, *args)
    assert first.code == code, (args, first.err)
    again = run_cli(capsys, *args)
    assert again.code == 2 and again.out == "", (args, again.err)
    assert again.err.count("\n") == 1 and "pass --overwrite to replace" in again.err, again.err
    forced = run_cli(capsys, *args, "--overwrite")
    assert forced.code == code, (args, forced.err)
    return first


def _human(result: Result, command: str) -> str:
    assert not REPR.search(result.out), f"{command} prints a Python repr:\n{result.out}"
    return result.out


def _grams(text: str, n: int = 13) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _passage_of_one(docs: list[Any]) -> str:
    """40 words of one document that share no 13 words with any other (offline
    stories share some stock sentences), so a check finds that document alone."""
    for doc in docs:
        others = set().union(*(_grams(d.text) for d in docs if d is not doc))
        words = doc.text.split()
        for start in range(0, max(len(words) - 40, 0) + 1, 10):
            passage = " ".join(words[start : start + 40])
            if not _grams(passage) & others:
                return passage
    raise AssertionError("every passage is shared")


def test_every_command_refuses_an_existing_output_and_prints_no_reprs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = str(write_small(tmp_path))
    for args in (["show", small], ["stats", small], ["diff", small, small]):
        _human(run_cli(capsys, "constitution", *args), f"constitution {args[0]}")
    _human(_writes(capsys, "constitution", "export", small, "--out", "principles"), "export")
    plan = ["generate", "plan", "stories", "--constitution", small, "--out", "plan.jsonl"]
    _human(_writes(capsys, *plan, "-n", "12", "--attributes", str(ATTRIBUTES)), "plan")
    run = run_cli(capsys, "generate", "run", "plan.jsonl", "--out", "run", "--backend", "offline")
    assert run.code == 0, run.err
    _human(run, "generate run")
    again = run_cli(capsys, "generate", "run", "plan.jsonl", "--out", "run", "--backend", "offline")
    assert again.code == 0, again.err  # resuming into its run directory is no overwrite
    _human(run_cli(capsys, "generate", "status", "run"), "generate status")
    docs = "run/documents"
    for command in ("stats", "validate"):
        _human(run_cli(capsys, "corpus", command, docs), f"corpus {command}")
    _human(_writes(capsys, "corpus", "convert", docs, "--out", "copy.jsonl"), "convert")
    score = ["quality", "score", docs, "--out", "quality", "--no-embed", "-q"]
    _human(_writes(capsys, *score), "quality score")
    scores = ["--scores", "quality/scores.jsonl"]
    _human(_writes(capsys, "quality", "filter", docs, "--out", "quality", *scores, "-q"), "filter")
    dedup = ["dedup", "quality/kept", "--out", "dedup", "--stages", "exact,near", "-q"]
    _human(_writes(capsys, *dedup), "dedup")
    leaked = _passage_of_one(list(read_documents("dedup/kept")))
    evals = tmp_path / "evals.jsonl"
    evals.write_text(json.dumps({"question": leaked}))
    check = ["contamination", "check", "dedup/kept", "--eval", f"{evals}:question", "--no-semantic"]
    shown = _writes(capsys, *check, "--report", "contamination", "-q", code=1)
    assert "hits: 1 n-gram" in _human(shown, "contamination check")
    shown = _writes(capsys, *check, "--decontaminate", "clean", "-q", code=1)
    assert "rejected 1, cut 0 (--verbose lists each)" in _human(shown, "decontaminate")
    shown = run_cli(capsys, *check, "--decontaminate", "clean", "-q", "--overwrite", "-v")
    assert "\n  removed " in _human(shown, "decontaminate --verbose")
    imported = run_cli(capsys, "review", "import", "dedup/kept", "--db", "r.db", "--sample", "4")
    assert imported.code == 0 and len(_human(imported, "review import").splitlines()) == 2
    _human(run_cli(capsys, "review", "stats", "--db", "r.db"), "review stats")
    export = ["review", "export", "--db", "r.db", "--out", "pending", "--status", "pending", "-q"]
    _human(_writes(capsys, *export), "review export")
    tok = tiny_tokenizer(tmp_path / "tok.json")
    write_spec(
        tmp_path / "mix.toml",
        {"stories": {"path": "dedup/kept", "share": 1.0}},
        target_tokens=500,
        seed=1,
        tokenizer=str(tok),
    )
    _human(_writes(capsys, "mix", "build", "mix.toml", "--out", "mix", "-q"), "mix build")
    _human(run_cli(capsys, "mix", "verify", "mix", "--tokenizer", str(tok), "-q"), "mix verify")
    _human(run_cli(capsys, "mix", "inspect", "mix"), "mix inspect")


def test_the_judge_refuses_an_earlier_judge_file_before_asking_anyone(tmp_path: Path) -> None:
    write_documents([], tmp_path / "c.jsonl")
    (tmp_path / "judged").mkdir()
    (tmp_path / "judged" / JUDGE_FILE).write_text("")
    with pytest.raises(InputError, match=r"judge\.jsonl exists; pass --overwrite"):
        judge_corpus(
            tmp_path / "c.jsonl",
            tmp_path / "judged",
            None,  # type: ignore[arg-type]  # never reached
            constitution=None,  # type: ignore[arg-type]
            model="m",
        )


def _field_default(options: type[Any], name: str) -> Any:
    return {f.name: f.default for f in dataclasses.fields(options)}[name]


@pytest.mark.parametrize(
    ("path", "options", "special"),
    [
        (
            ("ccorpus", "dedup"),
            DedupConfig,
            {"stages": (DedupConfig, "stages", lambda v: ",".join(v))},
        ),
        (
            ("ccorpus", "contamination", "check"),
            CheckOptions,
            {
                "no_semantic": (CheckOptions, "semantic", lambda v: not v),
                "judge_top": (JudgeSetup, "top", lambda v: v),
            },
        ),
    ],
)
def test_a_command_defaults_to_its_library_options_defaults(
    path: tuple[str, ...], options: type[Any], special: dict[str, Any]
) -> None:
    """Each option that sets a field of the library's options class defaults to that
    field's default (written once, in the library); `cache` sets `cache_dir`."""
    command = dict(commands())[path]
    fields = {f.name for f in dataclasses.fields(options)}
    compared = set()
    for param in command.params:
        if param.name in special:
            owner, name, as_cli = special[param.name]
        elif (name := "cache_dir" if param.name == "cache" else param.name) in fields:
            owner, as_cli = options, lambda v: v
        else:
            continue
        expected = as_cli(_field_default(owner, name))
        assert param.default == expected, f"{' '.join(path)} --{param.name}"
        compared.add(param.name)
    assert compared >= {"cache", "quiet", "ngram", "semantic_threshold", *special}
