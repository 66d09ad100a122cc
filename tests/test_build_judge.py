"""The judge stage in the build: offline stand-in, report figures, gate, resume-free reruns."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.test_build import _config, _ran, _snapshot
from toolkit.errors import ConfigError
from toolkit.io import read_documents
from toolkit.pipeline import BuildOptions, run_build

JUDGE = """
[judge]
backend = "offline"
min_reasoning = 3
revise_rounds = 1
"""


def _judged(tmp_path: Path, table: str = JUDGE) -> Path:
    config = _config(tmp_path)
    text = config.read_text().replace("\n[dedup]\n", f"{table}\n[dedup]\n")
    config.write_text(text)
    return config


def test_the_build_judges_offline_reports_the_figures_and_hands_on_what_passed(
    tmp_path: Path,
) -> None:
    config = _judged(tmp_path)
    first = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert {"quality", "judge", "dedup"} <= _ran(first)
    out = tmp_path / "out"
    summary = json.loads((out / "judge" / "summary.json").read_text())
    assert summary["stand_in"] is True and summary["backend"] == "offline"
    kept = list(read_documents(out / "judge" / "kept"))
    rejected = list(read_documents(out / "judge" / "rejected"))
    quality_kept = list(read_documents(out / "quality" / "kept"))
    assert len(kept) + len(rejected) - summary["revised"] == len(quality_kept)  # none lost
    dedup = json.loads((out / "dedup" / "dedup_report.json").read_text())
    assert dedup["documents"] == len(kept)  # dedup reads what the judge kept
    for doc in kept:
        judge = doc.metadata["judge"]
        assert judge["stand_in"] is True and judge["passed"] and not judge["below"]
        assert doc.metadata["quality"]["components"]["judge"] >= 0
    reasons = Counter(doc.metadata["rejected"]["reason"] for doc in rejected)
    assert set(reasons) <= {"revised", "low_faithfulness", "low_quality", "low_reasoning"}
    ids = {doc.id for doc in kept}
    for doc in rejected:
        if doc.metadata["rejected"]["reason"] == "revised":  # the original, linked onward
            assert doc.metadata["rejected"]["revised_as"] in ids
        else:
            assert doc.metadata["judge"]["below"][0] == doc.metadata["rejected"]["reason"][4:]

    report = json.loads((out / "report.json").read_text())["judge"]
    assert report["status"] == "ok" and report["stand_in"] is True
    rows = [
        json.loads(line) for line in (out / "judge" / "verdicts.jsonl").read_text().splitlines()
    ]
    for kind, spread in report["by_kind"].items():
        scored = [row for row in rows if row["kind"] == kind]
        assert spread["documents"] == len(scored)
        for axis in ("faithfulness", "quality", "reasoning"):
            assert spread[axis]["counts"] == [
                sum(row["after"][axis] == score for row in scored) for score in range(1, 6)
            ]
    assert set(report["by_template"]) == {"explainer.v1", "story.v1"}
    stories = [row for row in rows if row["kind"] in ("story", "advice")]
    deliberate = sum(row["after"]["reasoning"] >= 4 for row in stories)
    assert report["deliberation"]["after"] == {
        "documents": len(stories),
        "deliberate": deliberate,
        "share": round(deliberate / len(stories), 4),
    }
    page = (out / "report.html").read_text()
    section = page.split('<section id="judge">', 1)[1].split("</section>", 1)[0]
    assert "Offline stand-in" in section and 'id="judge-deliberation"' in section
    shown = re.search(r'data-deliberation="(\d+)%"', section)
    assert shown and int(shown[1]) == round(100 * deliberate / len(stories))
    assert "Scores by kind" in section and "Scores by template" in section

    before = _snapshot(out)
    second = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert _ran(second) == set() and _snapshot(out) == before


def test_changing_a_threshold_reruns_the_judge_and_what_follows(tmp_path: Path) -> None:
    config = _judged(tmp_path)
    run_build(config, BuildOptions(until="judge", quiet=True))
    config.write_text(config.read_text().replace("min_reasoning = 3", "min_reasoning = 5"))
    result = run_build(config, BuildOptions(until="dedup", quiet=True))
    assert _ran(result) == {"judge", "dedup"}
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert summary["settings"]["thresholds"]["reasoning"] == 5


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[judge]\nmin_reasoning = 7\n", "judge.min_reasoning: expected an integer from 1 to 5"),
        ("[judge]\ntreshold = 3\n", "judge.treshold: unknown key; valid keys are backend"),
        ('[judge]\nbackend = "gpt"\n', "judge.backend: expected one of auto, offline, anthropic"),
        ('[judge]\nbackend = "anthropic"\n', "judge.backend: anthropic needs ANTHROPIC_API_KEY"),
        ('[judge]\nkinds = ["poem"]\n', "judge.kinds: expected a list drawn from explainer"),
    ],
)
def test_a_bad_judge_table_is_refused_in_one_line_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    config = _judged(tmp_path, table)
    with pytest.raises(ConfigError) as refused:
        run_build(config, BuildOptions(quiet=True))
    assert f"{config}: {message}" in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()
