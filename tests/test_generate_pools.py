"""The shipped attribute pools and the grid a plan draws from them.

A 10,000-item plan must not lean on any value (none above ~2% of the draws of
its attribute), stories must put roles only in settings they can work in, and
ordinary conduct must far outnumber the eval-adjacent premises, which stay
out of a plan unless it opts in.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.generate_support import ATTRIBUTES, SAMPLE
from toolkit.constitution import load_constitution
from toolkit.errors import RecordError
from toolkit.generate.attributes import load_attributes
from toolkit.generate.planners import plan_advice, plan_explainers, plan_stories
from toolkit.generate.relevance import own_text, principle_scores, shortlists

#: Form parameters, not content: a handful of values each, by design.
FORM = {"length", "point_of_view", "form", "dilemma_family", "role_domain", "setting_domain"}
#: Attributes that only restate another (the description of a label).
RESTATED = {"role_description", "dilemma_description", "situation_description", "transcript"}
MAX_SHARE = 0.02


@pytest.fixture(scope="module")
def sample() -> object:
    return load_constitution(SAMPLE)


@pytest.mark.parametrize("planner", [plan_stories, plan_advice, plan_explainers])
def test_no_value_is_more_than_two_percent_of_a_10k_plan(planner: object, sample: object) -> None:
    attributes = load_attributes()
    items = planner(sample, attributes, n=10_000, seed=3)  # type: ignore[operator]
    names = {k for item in items[:200] for k, v in item.attributes.items() if isinstance(v, str)}
    checked = sorted(names - FORM - RESTATED)
    assert checked, "no content attribute found"
    for name in checked:
        counts = Counter(
            i.attributes[name] for i in items if isinstance(i.attributes.get(name), str)
        )
        value, top = counts.most_common(1)[0]
        assert top / sum(counts.values()) <= MAX_SHARE, (name, value, top)
    tools = Counter(t for item in items for t in item.attributes.get("tools") or [])
    if tools:
        assert max(tools.values()) / sum(tools.values()) <= MAX_SHARE


def test_stories_put_roles_only_in_compatible_settings(sample: object) -> None:
    attributes = load_attributes()
    items = plan_stories(sample, attributes, n=600, seed=5)  # type: ignore[arg-type]
    for item in items:
        a = item.attributes
        assert attributes.allows(a["role_domain"], a["setting_domain"]), (a["role"], a["setting"])
    assert not attributes.allows("home", "public")  # a household robot in a legislative office
    assert len({i.attributes["setting"] for i in items}) > 60


def test_ordinary_conduct_far_outnumbers_eval_adjacent_dilemmas_which_stay_out(
    sample: object,
) -> None:
    attributes = load_attributes()
    dilemmas = attributes.dilemmas()
    adjacent = [d for d in dilemmas if d.eval_adjacent]
    assert adjacent and len(dilemmas) - len(adjacent) >= 5 * len(adjacent)
    assert {d.family for d in dilemmas} >= {
        "ordinary conduct",
        "honesty with a user",
        "helpfulness under pressure",
        "respecting autonomy",
        "agentic work with tools",
        "oversight and safety",
    }
    items = plan_stories(sample, attributes, n=400, seed=2)  # type: ignore[arg-type]
    assert not any(item.attributes["eval_adjacent"] for item in items)
    labels = {d.label for d in adjacent}
    assert not labels & {item.attributes["dilemma"] for item in items}


def test_advice_situations_are_drawn_for_their_principle(sample: object) -> None:
    attributes = load_attributes()
    situations = [text for _, text in attributes.labelled("advice_situations")]
    principles = sample.principles()  # type: ignore[attr-defined]
    scores = principle_scores(principles, situations)
    row = {p.id: i for i, p in enumerate(principles)}
    column = {text: i for i, text in enumerate(situations)}
    items = plan_advice(sample, attributes, per_principle=3, seed=4)  # type: ignore[arg-type]
    ranks = []
    for item in items:
        scored = scores[row[item.principle_ids[0]]]
        chosen = scored[column[item.attributes["situation_description"]]]
        ranks.append(float((scored > chosen).mean()))
    # Random pairing would put the chosen situation at the median (0.5) on average.
    assert sum(ranks) / len(ranks) < 0.15


def test_a_second_principle_in_play_is_one_near_the_situation_and_none_piles_up(
    sample: object,
) -> None:
    attributes = load_attributes()
    situations = [text for _, text in attributes.labelled("advice_situations")]
    principles = sample.principles()  # type: ignore[attr-defined]
    scores = principle_scores(principles, situations)
    row = {p.id: i for i, p in enumerate(principles)}
    column = {text: i for i, text in enumerate(situations)}
    items = plan_advice(sample, attributes, per_principle=10, seed=4)  # type: ignore[arg-type]
    seconds = [item for item in items if len(item.principle_ids) == 2]
    assert len(seconds) > len(items) / 4
    ranks = []
    for item in seconds:
        scored = scores[:, column[item.attributes["situation_description"]]]
        chosen = scored[row[item.principle_ids[1]]]
        ranks.append(float((scored > chosen).mean()))
    # Drawn at random, a second principle would sit at the median (0.5) on average.
    assert sum(ranks) / len(ranks) < 0.15
    counts = Counter(item.principle_ids[1] for item in seconds)
    assert len(counts) > len(principles) / 2 and max(counts.values()) <= 0.08 * len(seconds)


def test_a_listed_item_is_read_without_the_lead_in_its_siblings_share(sample: object) -> None:
    principles = sample.principles()  # type: ignore[attr-defined]
    weapons = next(p for p in principles if p.id == "avoiding-harm/hard-limits/item-1")
    assert weapons.body.startswith("A few actions are excluded outright")
    assert own_text(weapons).startswith("- give serious uplift toward weapons")
    section = next(p for p in principles if p.kind == "section")
    assert own_text(section) == section.body
    # Read with "The assistant will not:", every item of a list sat nearest the same
    # candidates (rules in general); read alone, each finds its own.
    siblings: dict[str, list[int]] = {}
    for index, principle in enumerate(principles):
        if principle.kind == "item":
            siblings.setdefault(principle.id.rsplit("/", 1)[0], []).append(index)
    pairs = [(a, b) for group in siblings.values() for a in group for b in group if a < b]
    assert len(pairs) > 20
    attributes = load_attributes()
    dilemmas = principle_scores(principles, [t for _, t in attributes.labelled("dilemmas")])
    same_best = sum(dilemmas[a].argmax() == dilemmas[b].argmax() for a, b in pairs)
    assert same_best / len(pairs) < 0.15  # 0.39 with the lead-in
    situations = [t for _, t in attributes.labelled("advice_situations")]
    lists = [set(s) for s in shortlists(principle_scores(principles, situations), 8)]
    overlap = [len(lists[a] & lists[b]) / len(lists[a] | lists[b]) for a, b in pairs]
    assert sum(overlap) / len(overlap) < 0.08  # 0.12 with the lead-in


def test_a_hard_limit_on_what_it_will_help_with_has_stories_about_such_requests(
    sample: object,
) -> None:
    principles = sample.principles()  # type: ignore[attr-defined]
    limits = [p for p in principles if p.id.startswith("avoiding-harm/hard-limits/item-")]
    assert len(limits) == 5
    dilemmas = [d for d in load_attributes().dilemmas() if not d.eval_adjacent]
    texts = [f"{d.label}: {d.description}" for d in dilemmas]
    lists = shortlists(principle_scores(principles, texts), 8)
    row = {p.id: i for i, p in enumerate(principles)}
    # Weapons, attacks on systems, sexual material involving children, seizing power:
    # each finds requests of its own kind before the everyday dilemmas.
    for limit in limits[:4]:
        families = [dilemmas[i].family for i in lists[row[limit.id]]]
        assert families.count("requests near a hard line") >= 2, (limit.id, families)
        assert "requests near a hard line" in families[:2], (limit.id, families)


def test_headings_name_domains_families_and_are_checked(tmp_path: Path) -> None:
    copy = tmp_path / "stories" / "attributes"
    shutil.copytree(ATTRIBUTES, copy)
    shutil.copy(ATTRIBUTES.parent / "tools.json", copy.parent / "tools.json")
    attributes = load_attributes(copy)
    assert attributes.structure_of("FAQ") == "faq"
    assert attributes.structure_of("no such form") == "prose"
    (copy / "compatibility.txt").write_text("home: home, nowhere\n")
    with pytest.raises(RecordError, match=r"compatibility\.txt:1: no setting domain 'nowhere'"):
        load_attributes(copy)
    (copy / "compatibility.txt").unlink()
    (copy / "dilemmas.txt").write_text("[ordinary | adjacent]\na: the AI does b\n")
    with pytest.raises(RecordError, match=r"dilemmas\.txt:1: heading tag 'adjacent'"):
        load_attributes(copy)
