"""`ccorpus constitution show | stats | diff`, run in-process as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

DOC = """\
# House Rules {#rules}

Intro text for the whole document.

## Honesty {#honesty authority=root}

### Do not lie {#do_not_lie}

Never state falsehoods.

### Admit mistakes

Say so when you are wrong.

## Kindness

Be kind.

```text
# not a heading
```
"""

STATS_KEYS = {
    "title",
    "version",
    "lines",
    "sections",
    "principles",
    "words",
    "max_depth",
    "lost_paragraphs",
    "blocks_by_kind",
    "principles_by_kind",
    "context_sections",
    "granularity",
    "words_in_principles",
    "words_in_context",
    "words_excluded",
    "unassigned_blocks",
}


@pytest.fixture
def doc() -> Path:
    path = Path("rules.md")
    path.write_text(DOC, encoding="utf-8")
    return path


def test_stats_json(capsys: pytest.CaptureFixture[str], doc: Path) -> None:
    result = run_cli(capsys, "constitution", "stats", str(doc), "--json")
    assert result.code == 0, result.err
    figures = json.loads(result.out)
    assert set(figures) == STATS_KEYS
    assert figures["title"] == "House Rules"
    assert (figures["sections"], figures["principles"], figures["lost_paragraphs"]) == (4, 3, 0)
    assert figures["blocks_by_kind"] == {"fence": 1, "paragraph": 4}
    # The root's five-word introduction is shared context, not a principle.
    assert (figures["words_in_principles"], figures["words_in_context"]) == (14, 6)


def test_stats_table(capsys: pytest.CaptureFixture[str], doc: Path) -> None:
    result = run_cli(capsys, "constitution", "stats", str(doc))
    assert result.code == 0, result.err
    assert "principles" in result.out
    assert "lost_paragraphs" in result.out


def test_show_tree_and_depth(capsys: pytest.CaptureFixture[str], doc: Path) -> None:
    result = run_cli(capsys, "constitution", "show", str(doc))
    assert result.code == 0, result.err
    assert "* honesty/do_not_lie  Do not lie  [H3, lines 7-9," in result.out
    assert "- honesty  Honesty  [H2" in result.out
    assert "not a heading" not in result.out
    shallow = run_cli(capsys, "constitution", "show", str(doc), "--depth", "1")
    assert "honesty/do_not_lie" not in shallow.out
    assert "* kindness" in shallow.out


def test_show_json(capsys: pytest.CaptureFixture[str], doc: Path) -> None:
    result = run_cli(capsys, "constitution", "show", str(doc), "--json")
    assert result.code == 0, result.err
    tree = json.loads(result.out)
    root = tree["root"]
    assert (root["id"], root["title"], root["anchor"]) == ("", "House Rules", "rules")
    honesty = root["children"][0]
    assert set(honesty) == {
        "id",
        "title",
        "level",
        "anchor",
        "attrs",
        "lines",
        "words",
        "is_principle",
        "body",
        "role",
        "reason",
        "principles",
        "shared_context_words",
        "children",
    }
    assert tree["principles"] == ["honesty/do_not_lie", "honesty/admit-mistakes", "kindness"]
    assert honesty["attrs"] == {"authority": "root"}
    lie = honesty["children"][0]
    assert (lie["id"], lie["is_principle"], lie["lines"], lie["body"]) == (
        "honesty/do_not_lie",
        True,
        [7, 9],
        "Never state falsehoods.",
    )
    assert lie["words"] == 6


def test_diff_json_and_exit_code(capsys: pytest.CaptureFixture[str], doc: Path) -> None:
    new = Path("rules-v2.md")
    new.write_text(
        DOC.replace("Be kind.", "Be very kind.").replace(
            "### Admit mistakes\n\nSay so when you are wrong.\n", "### Cite sources\n\nLink them.\n"
        ),
        encoding="utf-8",
    )
    result = run_cli(capsys, "constitution", "diff", str(doc), str(new), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    changed = [(c["id"], c["diff"], c["text"]) for c in data["changed"]]
    assert (data["added"], data["removed"], changed, data["unchanged"]) == (
        ["honesty/cite-sources"],
        ["honesty/admit-mistakes"],
        [("kindness", [{"op": "insert", "old": "", "new": "very"}], "Be {+very+} kind. # not a …")],
        ["honesty/do_not_lie"],
    )
    failed = run_cli(capsys, "constitution", "diff", str(doc), str(new), "--exit-code")
    assert failed.code == 1
    assert "+ honesty/cite-sources" in failed.out
    assert len(failed.err.strip().splitlines()) == 1
    same = run_cli(capsys, "constitution", "diff", str(doc), str(doc), "--exit-code")
    assert same.code == 0, same.err
    assert "0 added, 0 removed, 0 renamed, 0 changed, 3 unchanged" in same.out


@pytest.mark.parametrize("command", ["show", "stats"])
def test_missing_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], command: str) -> None:
    result = run_cli(capsys, "constitution", command, "nowhere/missing.md")
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "nowhere/missing.md" in lines[0]


def test_not_utf8_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path("latin1.md").write_bytes(b"# Caf\xe9\n")
    result = run_cli(capsys, "constitution", "stats", "latin1.md")
    assert result.code == 2
    assert "latin1.md" in result.err
    assert "UTF-8" in result.err


@pytest.mark.parametrize("command", ["show", "stats", "diff"])
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    result = run_cli(capsys, "constitution", command, "--help")
    assert result.code == 0
    assert "constitution" in result.out.lower()


NO_PRINCIPLES = (
    "no principles found: a constitution needs Markdown headings (## Section) with text or "
    "list items under them; a lone # heading is the title, not a section"
)


@pytest.mark.parametrize(
    "args",
    [
        ["constitution", "show", "charter.md"],
        ["constitution", "stats", "charter.md"],
        ["generate", "plan", "stories", "--constitution", "charter.md", "--out", "p.jsonl", "-q"],
        ["build", "build.toml", "--until", "plan", "--quiet"],
    ],
)
def test_a_constitution_without_headings_gets_one_line_saying_what_it_needs(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    Path("charter.md").write_text("# Charter\n\nOne preamble and no sections.\n- a list\n")
    Path("build.toml").write_text(
        'out = "out"\nconstitution = "charter.md"\n\n[generate]\nbackend = "offline"\n\n'
        "[generate.stories]\nper_principle = 1\n"
    )
    result = run_cli(capsys, *args)
    assert result.code == 2
    assert result.err == f"error: charter.md: {NO_PRINCIPLES}\n"
    assert not Path("p.jsonl").exists()
    assert not Path("out").exists()  # a failed first stage leaves no build state at all
