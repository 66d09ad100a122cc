"""Cutting constitutions of real-world shapes into principles a researcher would recognise.

The fixtures are our own documents, one per shape: nested sections with
introductions, a flat list of rules grouped by source, acknowledgements and
summaries, and hard-constraint bullets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli
from toolkit.constitution import (
    diff_constitutions,
    load_constitution,
    parse_constitution,
    stats,
    unassigned_blocks,
)
from toolkit.constitution.markdown import count_words, plain_text
from toolkit.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "constitutions"
SHAPES = ["nested.md", "rules-by-source.md", "context-sections.md", "hard-constraints.md"]


def _ids(path: Path | str, **kwargs: str) -> list[str]:
    return [unit.id for unit in load_constitution(path, **kwargs).principles()]


@pytest.mark.parametrize("name", [*SHAPES, "nested-v2.md"])
@pytest.mark.parametrize("granularity", ["auto", "section", "item"])
def test_every_word_of_every_section_lands_in_exactly_one_place(
    name: str, granularity: str
) -> None:
    constitution = load_constitution(FIXTURES / name, granularity=granularity)
    figures = stats(constitution)
    assert unassigned_blocks(constitution) == []
    assert figures["lost_paragraphs"] == 0
    body_words = sum(
        count_words(plain_text(node.body)) for node in constitution.root.walk() if node.blocks
    )
    split = figures["words_in_principles"] + figures["words_in_context"] + figures["words_excluded"]
    assert split == body_words


def test_a_parent_section_introduction_is_a_principle_or_shared_context() -> None:
    constitution = load_constitution(FIXTURES / "nested.md")
    assert _ids(FIXTURES / "nested.md") == [
        "_intro",
        "being-safe/_intro",
        "being-safe/stay-correctable",
        "being-safe/delegation",
        "being-honest/say-what-the-evidence-supports",
        "being-honest/do-not-flatter-a-plan",
        "being-helpful/serve-the-real-goal",
    ]
    intro = constitution.principle("being-safe/_intro")
    assert intro is not None and intro.kind == "intro"
    assert intro.body.startswith("Safety comes first for now")
    # A one-sentence introduction (17 words) frames its children instead.
    shared = [s for s in constitution.cut().shared if s.section == "being-honest"]
    assert [s.words for s in shared] == [17]
    plan = constitution.principle("being-honest/do-not-flatter-a-plan")
    assert plan is not None and plan.context.startswith("Growers act on what")


def test_a_flat_list_of_rules_gives_one_principle_per_rule() -> None:
    constitution = load_constitution(FIXTURES / "rules-by-source.md")
    principles = constitution.principles()
    assert len(principles) == 14
    assert {unit.kind for unit in principles} == {"item"}
    assert [unit.id for unit in principles][:2] == [
        "principles-drawn-from-human-rights-documents/item-1",
        "principles-drawn-from-human-rights-documents/item-2",
    ]
    first = principles[0]
    assert first.title == "Principles Drawn from Human Rights Documents"
    assert first.body == (
        "- Please choose the response that most supports and encourages freedom, equality "
        "and a sense of brotherhood."
    )
    # The authors' prose about the list and the acknowledgements are context.
    context = {unit.id: unit.reason for unit in constitution.cut().context_units()}
    assert set(context) == {
        "how-we-wrote-this-list",
        "why-a-list-of-principles",
        "acknowledgements",
    }
    assert context["acknowledgements"] == "acknowledgements"


def test_context_sections_are_kept_but_not_generated_from() -> None:
    constitution = load_constitution(FIXTURES / "context-sections.md")
    assert constitution.title == "The Clinic Companion Charter"
    reasons = {unit.id: unit.reason for unit in constitution.cut().context_units()}
    assert reasons == {
        "how-to-read-this-document": "reading guide",
        "read-a-summary": "summary",
        "a-final-word": "closing words",
        "acknowledgements": "acknowledgements",
        "notes": "notes and references",
        "changelog": "changelog",
    }
    assert _ids(FIXTURES / "context-sections.md") == [
        "honesty/never-guess-at-a-diagnosis",
        "honesty/admit-what-it-does-not-know",
        "privacy/share-records-only-with-consent",
    ]
    figures = stats(constitution)
    assert figures["words_excluded"] > 0
    assert figures["principles"] == 3


def test_hard_constraint_bullets_keep_their_lead_in() -> None:
    constitution = load_constitution(FIXTURES / "hard-constraints.md")
    ids = _ids(FIXTURES / "hard-constraints.md")
    assert ids == [
        "hard-constraints/_intro",
        *(f"hard-constraints/item-{n}" for n in range(1, 8)),
        "everyday-operations",
    ]
    item = constitution.principle("hard-constraints/item-4")
    assert item is not None
    # Without its lead-in, "generate sexual material involving minors" would read
    # as an instruction to do it.
    assert item.body.endswith(
        "The operations agent should never:\n\n- generate sexual material involving minors;"
    )
    assert item.words == 5
    # The list of examples ("Typical routine fixes include:") is not a list of rules.
    everyday = constitution.principle("everyday-operations")
    assert everyday is not None and everyday.kind == "section"


def test_granularity_section_and_item() -> None:
    path = FIXTURES / "hard-constraints.md"
    assert _ids(path, granularity="section") == ["hard-constraints", "everyday-operations"]
    items = _ids(path, granularity="item")
    assert "everyday-operations/item-3" in items
    assert "everyday-operations/_intro" in items


def test_front_matter_and_sidecar_override_the_heuristics(tmp_path: Path) -> None:
    source = (FIXTURES / "context-sections.md").read_text(encoding="utf-8")
    with_front = source.replace(
        "title: The Clinic Companion Charter\n",
        "title: The Clinic Companion Charter\nprinciples:\n"
        "  include: [read-a-summary]\n  exclude: [privacy]\n",
    )
    ids = [unit.id for unit in parse_constitution(with_front, "x.md").principles()]
    assert "read-a-summary" in ids
    assert not any(i.startswith("privacy") for i in ids)

    doc = tmp_path / "ops.md"
    doc.write_text((FIXTURES / "hard-constraints.md").read_text(encoding="utf-8"))
    (tmp_path / "ops.principles.toml").write_text(
        '[principles]\nlists = ["everyday-operations"]\nexclude = ["hard-constraints/item-7"]\n'
    )
    ids = _ids(doc)
    assert "everyday-operations/item-1" in ids
    assert "hard-constraints/item-7" not in ids
    assert "hard-constraints/item-6" in ids
    # The command line's granularity wins over the file's.
    assert _ids(doc, granularity="section") == ["hard-constraints", "everyday-operations"]


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        ('[principles]\ngranularity = "items"\n', "granularity: expected one of"),
        ("[principles]\nexclud = []\n", "[principles].exclud: unknown key"),
        ("[plans]\n", "unknown table [plans]"),
        ("[principles]\nexclude = [1]\n", "expected a list of section ids"),
    ],
)
def test_bad_settings_are_one_line_naming_the_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sidecar: str, expected: str
) -> None:
    doc = tmp_path / "ops.md"
    doc.write_text((FIXTURES / "hard-constraints.md").read_text(encoding="utf-8"))
    (tmp_path / "ops.principles.toml").write_text(sidecar)
    result = run_cli(capsys, "constitution", "show", str(doc))
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "ops.principles.toml" in result.err and expected in result.err


def test_a_key_set_in_both_places_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text("---\nprinciples:\n  granularity: item\n---\n# C\n\n## A\n\nBe kind.\n")
    (tmp_path / "c.principles.toml").write_text('[principles]\ngranularity = "section"\n')
    with pytest.raises(InputError, match="also set in the front matter"):
        load_constitution(doc)


def test_diff_reports_renamed_and_changed_with_the_words() -> None:
    old = load_constitution(FIXTURES / "nested.md")
    new = load_constitution(FIXTURES / "nested-v2.md")
    result = diff_constitutions(old, new)
    assert result.added == ["being-helpful/teach-when-asked"]
    assert result.removed == []
    assert [(r["old"], r["new"], r["changed"]) for r in result.renamed] == [
        ("being-safe/stay-correctable", "being-safe/remain-open-to-correction", False)
    ]
    [change] = result.changed
    assert change.id == "being-honest/say-what-the-evidence-supports"
    assert change.ops == [
        {"op": "replace", "old": "too old to rely on,", "new": "more than two seasons old,"}
    ]
    assert "[-too old to rely on,-] {+more than two seasons old,+}" in change.text
    assert len(result.unchanged) == 5


def test_diff_cli_prints_renames_and_word_changes(capsys: pytest.CaptureFixture[str]) -> None:
    old, new = str(FIXTURES / "nested.md"), str(FIXTURES / "nested-v2.md")
    result = run_cli(capsys, "constitution", "diff", old, new, "--exit-code")
    assert result.code == 1
    assert "> being-safe/stay-correctable -> being-safe/remain-open-to-correction" in result.out
    assert "[-too old to rely on,-] {+more than two seasons old,+}" in result.out
    assert "1 added, 0 removed, 1 renamed, 1 changed, 5 unchanged" in result.out
    as_json = run_cli(capsys, "constitution", "diff", old, new, "--json")
    data = json.loads(as_json.out)
    assert data["counts"] == {"added": 1, "removed": 0, "renamed": 1, "changed": 1, "unchanged": 5}
    strict = run_cli(capsys, "constitution", "diff", old, new, "--rename-similarity", "1.0")
    assert "> being-safe/stay-correctable" in strict.out  # identical text still pairs


def test_show_marks_context_sections_and_lists_item_principles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(capsys, "constitution", "show", str(FIXTURES / "context-sections.md"))
    assert result.code == 0, result.err
    assert "~ acknowledgements  Acknowledgements  [H2" in result.out
    assert "context: acknowledgements]" in result.out
    listed = run_cli(capsys, "constitution", "show", str(FIXTURES / "hard-constraints.md"))
    assert "    * hard-constraints/item-1  [item, lines 7-7, 13 words]" in listed.out


def test_ids_of_another_cut_still_resolve() -> None:
    """Documents cite ids from the plan's cut; the review page and judge still find them."""
    auto = load_constitution(FIXTURES / "hard-constraints.md")
    title, text = auto.resolve("hard-constraints") or ("", "")
    assert title == "Hard Constraints" and "bright lines" in text and "weights" in text
    by_section = load_constitution(FIXTURES / "hard-constraints.md", granularity="section")
    found = by_section.resolve("hard-constraints/item-6")
    assert found is not None and found[1].endswith("operators do not control;")
    assert auto.resolve("no-such-principle") is None


def test_the_title_is_never_a_section_heading() -> None:
    spec = "# Overview\n\nWhat this is.\n\n# Rules\n\n## Be kind\n\nAlways.\n"
    assert parse_constitution(spec, "model-spec.md").title == "model-spec"
    assert parse_constitution("## Overview\n\nBe kind.\n", "charter.md").title == "charter"
    assert parse_constitution("---\ntitle: T\n---\n# H\n\n## A\n\nB.\n").title == "T"


def test_plans_cover_every_principle_and_no_context(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in SHAPES:
        path = FIXTURES / name
        out = tmp_path / f"{name}.jsonl"
        result = run_cli(
            capsys, "generate", "plan", "explainers", "--constitution", str(path), "--out", str(out)
        )
        assert result.code == 0, result.err
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        cited = {pid for row in rows for pid in row["principle_ids"]}
        constitution = load_constitution(path)
        assert cited == {unit.id for unit in constitution.principles()}, name
        assert not cited & {unit.id for unit in constitution.cut().context_units()}
