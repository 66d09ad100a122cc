"""Plans are screened against the evals before anything is paid for.

Each item's scenario is compared with the eval sets and with the premises of
published evaluations; a flagged item is re-drawn by seed, dropped, or kept
and marked; eval-adjacent dilemmas come in only as a recorded ablation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.generate_support import ROOT, SAMPLE
from toolkit.cli.generate import app
from toolkit.generate.attributes import load_attributes
from toolkit.generate.plan import read_plan
from toolkit.generate.planners import make_plan, provenance_path
from toolkit.generate.screening import (
    DEFAULT_PREMISE_MARGIN,
    ScreenOptions,
    eval_texts,
    load_premises,
    premise_scores,
)

HELDOUT = ROOT / "tests" / "fixtures" / "premises" / "heldout.txt"


def _generate(*args: str) -> None:
    typer.main.get_command(app).main(list(args), standalone_mode=False)


def test_the_premise_check_catches_held_out_premises_and_spares_ordinary_scenarios() -> None:
    """Measured only: the margin was chosen on the shipped dilemmas and situations."""
    rows = [
        line.split("\t", 1)
        for line in HELDOUT.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    premises = load_premises(load_attributes().premises)
    margins, _ = premise_scores([text for _, text in rows], premises)
    flagged = {kind: 0 for kind, _ in rows}
    for (kind, _), margin in zip(rows, margins, strict=True):
        flagged[kind] += int(margin >= DEFAULT_PREMISE_MARGIN)
    total = {kind: sum(1 for k, _ in rows if k == kind) for kind in flagged}
    assert (total["premise"], total["ordinary"]) == (16, 24)
    assert flagged["premise"] >= 9  # 10 of 16 when the margin was set
    assert flagged["ordinary"] <= 1  # 0 of 24


def test_every_shipped_eval_adjacent_dilemma_shares_a_premise() -> None:
    attributes = load_attributes()
    premises = load_premises(attributes.premises)
    adjacent = [d for d in attributes.dilemmas() if d.eval_adjacent]
    margins, _ = premise_scores([f"{d.label}: {d.description}" for d in adjacent], premises)
    assert all(m >= DEFAULT_PREMISE_MARGIN for m in margins)


def _evals(tmp_path: Path) -> Path:
    """An eval set with a near-copy of a shipped advice situation, and an unrelated item."""
    path = tmp_path / "evals.jsonl"
    rows = [
        {"id": "probe-1", "q": "A shop assistant is told by a manager never to mention that "
         "a competitor sells the same item for less. A customer asks. What do you say?"},
        {"id": "probe-2", "q": "What is the boiling point of water at sea level?"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _plan(tmp_path: Path, name: str, action: str, **kw: Any) -> dict[str, Any]:
    spec = f"{_evals(tmp_path)}:q"
    options = ScreenOptions(
        evals=eval_texts([spec]), eval_sets=(spec,), action=action, max_eval_similarity=0.5
    )
    return make_plan(
        "advice", SAMPLE, tmp_path / f"{name}.jsonl", per_principle=4, seed=9, quiet=True,
        screen=options, **kw,
    )  # fmt: skip


def test_flagged_items_are_redrawn_by_seed_dropped_or_kept_marked(tmp_path: Path) -> None:
    flag = _plan(tmp_path, "flag", "flag")
    marked = [i for i in flag["items_screening"] if i["flagged"]]
    assert marked and all(i["nearest_eval"] == "probe-1" for i in marked)
    assert all(i["eval_similarity"] > 0.5 for i in marked)
    redraw = _plan(tmp_path, "redraw", "redraw")
    _plan(tmp_path, "again", "redraw")
    assert (tmp_path / "redraw.jsonl").read_bytes() == (tmp_path / "again.jsonl").read_bytes()
    screening = redraw["screening"]
    assert screening["redrawn"] == len(marked) and screening["still_flagged"] == 0
    assert not any(i["flagged"] for i in redraw["items_screening"])
    clear = {i["plan_id"] for i in flag["items_screening"] if not i["flagged"]}
    before = {i.plan_id: i for i in read_plan(tmp_path / "flag.jsonl")}
    after = {i.plan_id: i for i in read_plan(tmp_path / "redraw.jsonl")}
    assert all(before[p].prompt == after[p].prompt for p in clear)  # clear items never change
    drop = _plan(tmp_path, "drop", "drop")
    assert drop["items"] == flag["items"] - len(marked)
    record = json.loads(provenance_path(tmp_path / "drop.jsonl").read_text())
    assert record["screening"]["dropped"] == len(marked)
    assert record["screening"]["thresholds"]["eval_similarity"] == 0.5


def test_eval_adjacent_dilemmas_are_an_opt_in_ablation_recorded_in_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stories.jsonl"
    common = ["plan", "stories", "--constitution", str(SAMPLE), "-n", "200", "--seed", "3"]
    _generate(*common, "--out", str(out), "--quiet")
    printed = capsys.readouterr().out
    assert "eval-adjacent dilemmas: 0 of 200 (0%), off; --eval-adjacent opts in" in printed
    _generate(*common, "--out", str(out), "--eval-adjacent", "--overwrite", "--quiet", "--json")
    figures = json.loads(capsys.readouterr().out)
    adjacent = [i for i in read_plan(out) if i.attributes["eval_adjacent"]]
    assert adjacent and figures["screening"]["eval_adjacent_items"] == len(adjacent)
    assert figures["screening"]["ablations"] == ["eval-adjacent dilemmas"]
    assert all("eval-adjacent dilemma" in i.screening["flagged"] for i in adjacent)
    record = json.loads(provenance_path(out).read_text())
    assert record["screening"]["eval_adjacent"] is True
    assert len(figures["items_screening"]) == 200


def test_cli_json_reports_each_items_nearest_eval_and_distance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{_evals(tmp_path)}:q"
    out = tmp_path / "advice.jsonl"
    _generate(
        "plan", "advice", "--constitution", str(SAMPLE), "--out", str(out), "--eval", spec,
        "--on-eval-match", "flag", "--deployment-share", "0.5", "--quiet", "--json",
    )  # fmt: skip
    figures = json.loads(capsys.readouterr().out)
    per_item = figures["items_screening"]
    assert len(per_item) == figures["items"] == len(list(read_plan(out)))
    assert all(i["nearest_eval"] in ("probe-1", "probe-2") for i in per_item)
    assert all(0 < i["eval_similarity"] < 1 for i in per_item)
    assert figures["deployment"]["share"] == 0.5


def test_the_build_config_takes_plans_screening_and_a_deployment_share(tmp_path: Path) -> None:
    from toolkit.errors import ConfigError
    from toolkit.pipeline.config import PlanScreening, load_build_config

    (tmp_path / "c.md").write_text("# C\n\n## A\n\nThe assistant tells the truth.\n")
    config = tmp_path / "build.toml"
    head = 'out = "out"\nconstitution = "c.md"\n'
    config.write_text(
        head + '[plans]\nmax_eval_similarity = 0.6\non_eval_match = "drop"\neval_adjacent = true\n'
        "[generate.advice]\ndeployment_share = 0.5\n"
    )
    loaded = load_build_config(config)
    assert loaded.screening == PlanScreening(0.6, 0.1, "drop", True)
    assert loaded.plans[0].deployment_share == 0.5
    config.write_text(head + '[plans]\non_eval_match = "keep"\n')
    with pytest.raises(ConfigError, match=r"build\.toml: plans\.on_eval_match: expected flag"):
        load_build_config(config)
    config.write_text(head + "[generate.stories]\ndeployment_share = 0.5\n")
    with pytest.raises(
        ConfigError, match=r"generate\.stories\.deployment_share: applies to advice"
    ):
        load_build_config(config)
