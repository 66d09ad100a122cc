"""Planning: attribute lists, templates, and plans that cover every principle evenly."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import typer

from tests.generate_support import ATTRIBUTES, write_small
from toolkit.cli.generate import app
from toolkit.constitution import load_constitution
from toolkit.errors import ConfigError, InputError, RecordError
from toolkit.generate.attributes import ATTRIBUTE_FILES, load_attributes
from toolkit.generate.drafters import TOOL_SHORTLIST
from toolkit.generate.plan import read_plan, write_plan
from toolkit.generate.planners import Planner, plan_advice, plan_explainers, plan_stories
from toolkit.generate.templates import available_templates, load_template, render
from toolkit.generate.vectors import cosines


def _generate(*args: str) -> None:
    typer.main.get_command(app).main(list(args), standalone_mode=False)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_small(tmp_path)


# -- attributes ---------------------------------------------------------------


def test_attributes_load_from_the_repository_lists() -> None:
    attributes = load_attributes(ATTRIBUTES)
    assert set(attributes.values) == set(ATTRIBUTE_FILES)
    label, description = attributes.labelled("roles")[0]
    assert label and description and ":" not in label
    assert all("name" in tool for tool in attributes.tools)


def test_missing_attribute_directory_names_path_and_expected_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_attributes(tmp_path / "nowhere")
    assert "nowhere" in str(err.value) and "settings.txt" in str(err.value)


def test_missing_and_empty_attribute_files_are_named(tmp_path: Path) -> None:
    copy = tmp_path / "stories" / "attributes"
    shutil.copytree(ATTRIBUTES, copy)
    shutil.copy(ATTRIBUTES.parent / "tools.json", copy.parent / "tools.json")
    (copy / "genres.txt").unlink()
    with pytest.raises(InputError, match=r"missing genres\.txt"):
        load_attributes(copy)
    (copy / "genres.txt").write_text("# only a comment\n\n")
    with pytest.raises(InputError, match=r"genres\.txt: no values"):
        load_attributes(copy)
    (copy / "genres.txt").write_text("thriller\n")
    (copy / "roles.txt").write_text("# roles\nplain value without a label\n")
    with pytest.raises(RecordError, match=r"roles\.txt:2: expected 'label: description'"):
        load_attributes(copy)


# -- templates ----------------------------------------------------------------


def test_templates_load_latest_and_refuse_unknown_names_and_versions() -> None:
    story = load_template("story")
    assert story.version == available_templates()["story"][-1]
    with pytest.raises(ConfigError, match=r"available: .*story"):
        load_template("no-such-template")
    with pytest.raises(ConfigError, match="no version 'v99'; available: v1"):
        load_template("story", "v99")


def test_render_names_template_and_missing_placeholder() -> None:
    with pytest.raises(ConfigError, match=r"story\.v1: no value for placeholder \$\w+"):
        render(load_template("story", "v1"), {"genre": "thriller"})


# -- plans --------------------------------------------------------------------


def test_same_seed_gives_byte_identical_plan_and_another_seed_differs(
    tmp_path: Path, small: Path
) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    paths = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        path = tmp_path / f"{name}.jsonl"
        write_plan(plan_stories(constitution, attributes, n=30, seed=seed), path)
        paths.append(path.read_bytes())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


@pytest.mark.parametrize("planner", [plan_explainers, plan_stories, plan_advice])
def test_every_principle_gets_its_quota(planner: Planner, small: Path) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    ids = [p.id for p in constitution.principles()]
    items = planner(constitution, attributes, n=12, seed=3)
    primary = Counter(item.principle_ids[0] for item in items)
    assert set(primary) == set(ids)
    assert sorted(primary.values()) == [2, 2, 2, 3, 3]
    exact = planner(constitution, attributes, per_principle=3, seed=3)
    assert Counter(item.principle_ids[0] for item in exact) == dict.fromkeys(ids, 3)


def test_n_below_the_number_of_principles_is_refused(small: Path) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    with pytest.raises(ConfigError, match="minimum is n=5"):
        plan_stories(constitution, attributes, n=4)


def test_story_attribute_values_are_used_evenly(small: Path) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    items = plan_stories(constitution, attributes, n=137, seed=11)
    for name, values in (
        ("genre", attributes.get("genres")),
        ("role", [label for label, _ in attributes.labelled("roles")]),
        ("point_of_view", attributes.get("points_of_view")),
        ("length", [label for label, _ in attributes.labelled("lengths")]),
    ):
        counts = Counter(item.attributes[name] for item in items)
        assert set(counts) <= set(values), name
        assert max(counts.values()) - min(counts.values()) <= 1, name
    # Settings are dealt per role domain, dilemmas per principle: each deck deals every
    # value once before any twice, so none is used more than a few times in 137 items.
    for name in ("setting", "dilemma"):
        counts = Counter(item.attributes[name] for item in items)
        assert len(counts) > 30 and max(counts.values()) <= 6, (name, counts.most_common(3))
    seconds = [item for item in items if len(item.principle_ids) == 2]
    assert 0 < len(seconds) < len(items)
    assert all(a != b for a, b in (item.principle_ids for item in seconds))


def test_story_prompt_quotes_the_principle_and_length_sets_max_tokens(small: Path) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    bodies = {p.id: p for p in constitution.principles()}
    items = plan_stories(constitution, attributes, n=20, seed=1)
    for item in items:
        node = bodies[item.principle_ids[0]]
        assert node.title in item.prompt
        assert all(line in item.prompt for line in node.body.splitlines())
        assert item.attributes["dilemma"] in item.prompt and "$" not in item.prompt
        assert item.plan_id.startswith("story-") and len(item.plan_id) == len("story-00000")
    by_length = {item.attributes["length_words"]: item.max_tokens for item in items}
    assert sorted(by_length.values()) == [by_length[w] for w in sorted(by_length)]
    assert len(set(by_length.values())) > 1


def test_advice_renders_a_share_of_deployments_with_unused_tools(small: Path) -> None:
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    known = {tool["name"] for tool in attributes.tools}
    every = plan_advice(constitution, attributes, n=40, seed=5)
    assert all(item.attributes["system_prompt"] and item.prefix for item in every)
    items = plan_advice(constitution, attributes, n=40, seed=5, deployment_share=0.5)
    with_operator = [item for item in items if item.attributes["system_prompt"]]
    assert len(with_operator) == 20
    for item in with_operator:
        names = item.attributes["tools"]
        assert 2 <= len(names) <= 4 and len(set(names)) == len(names) and set(names) <= known
        assert item.attributes["system_prompt"] in item.prompt
        assert all(f'"name": "{name}"' in item.prompt for name in names)
        assert item.prefix.startswith(f"System: {item.attributes['system_prompt']}\n\nTools:\n")
        assert all(f'"name": "{name}"' in item.prefix for name in names)
        assert item.attributes["transcript"] == "advice-transcript.v1"
    for item in items:
        if not item.attributes["system_prompt"]:
            assert item.attributes["tools"] == [] and "<tools>" not in item.prompt
            assert item.prefix == "" and item.attributes["transcript"] is None


def test_a_deployments_tools_are_drawn_for_its_system_prompt(small: Path) -> None:
    # Tools drawn at random gave a mortgage helpline a meter-reading tool; a deployment's
    # tools now come from the few nearest its system prompt in meaning.
    constitution, attributes = load_constitution(small), load_attributes(ATTRIBUTES)
    items = plan_advice(constitution, attributes, n=300, seed=4)
    prompts = list(attributes.get("system_prompts"))
    about = [f"{t['name'].replace('_', ' ')}: {t['description']}" for t in attributes.tools]
    scores = cosines(prompts, about)
    index = {tool["name"]: n for n, tool in enumerate(attributes.tools)}
    drawn = [
        float(scores[prompts.index(item.attributes["system_prompt"]), index[name]])
        for item in items
        for name in item.attributes["tools"]
    ]
    assert sum(drawn) / len(drawn) > 2 * float(scores.mean())
    per_prompt: dict[str, set[str]] = {}
    for item in items:
        per_prompt.setdefault(item.attributes["system_prompt"], set()).update(
            item.attributes["tools"]
        )
    assert max(len(names) for names in per_prompt.values()) <= TOOL_SHORTLIST
    assert len({name for names in per_prompt.values() for name in names}) > len(index) / 2


def test_identical_prompts_get_distinct_sample_indices(tmp_path: Path, small: Path) -> None:
    narrow = tmp_path / "narrow" / "attributes"
    shutil.copytree(ATTRIBUTES, narrow)
    shutil.copy(ATTRIBUTES.parent / "tools.json", narrow.parent / "tools.json")
    (narrow / "explainer_genres.txt").write_text("FAQ\n")
    (narrow / "audiences.txt").write_text("a nurse\n")
    items = plan_explainers(load_constitution(small), load_attributes(narrow), per_principle=3)
    assert sorted(Counter(item.sample_index for item in items).items()) == [(0, 5), (1, 5), (2, 5)]
    assert len({item.key("m") for item in items}) == len(items)


def test_cli_plan_uses_the_shipped_attributes_from_any_directory(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _generate("plan", "stories", "--constitution", str(small), "--out", "plan.jsonl", "-n", "6")
    items = list(read_plan(elsewhere / "plan.jsonl"))
    assert len(items) == 6 and {item.attributes["genre"] for item in items} <= set(
        load_attributes().get("genres")
    )
    assert load_attributes().directory == ATTRIBUTES


def test_cli_plan_writes_items_and_reports_coverage(
    tmp_path: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.jsonl"
    _generate(
        "plan", "explainers", "--constitution", str(small), "--out", str(out),
        "-n", "9", "--attributes", str(ATTRIBUTES), "--json",
    )  # fmt: skip
    figures = json.loads(capsys.readouterr().out)
    assert figures["items"] == 9 and figures["principles_covered"] == figures["principles"] == 5
    assert len(list(read_plan(out))) == 9
    with pytest.raises(ConfigError, match="not both"):
        _generate(
            "plan", "advice", "--constitution", str(small), "--out", str(out),
            "-n", "9", "--per-principle", "2", "--attributes", str(ATTRIBUTES),
        )  # fmt: skip


def test_cli_plan_cuts_the_constitution_at_the_granularity_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = Path(__file__).parent / "fixtures" / "constitutions" / "rules-by-source.md"
    figures = {}
    for granularity in ("auto", "section"):
        out = tmp_path / f"{granularity}.jsonl"
        _generate(
            "plan", "explainers", "--constitution", str(rules), "--out", str(out),
            "--granularity", granularity, "--per-principle", "1", "--json", "-q",
        )  # fmt: skip
        figures[granularity] = json.loads(capsys.readouterr().out)
        assert figures[granularity]["granularity"] == granularity
        ids = {item.principle_ids[0] for item in read_plan(out)}
        assert any("/item-" in pid for pid in ids) == (granularity == "auto")
    assert figures["auto"]["principles"] > figures["section"]["principles"]
    with pytest.raises(InputError, match="granularity"):
        _generate(
            "plan", "explainers", "--constitution", str(rules), "--out",
            str(tmp_path / "bad.jsonl"), "--granularity", "word",
        )  # fmt: skip
