"""The build report: figures from each stage's files, one safe offline page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from toolkit.build.collect import collect_report, write_report
from toolkit.build.layout import BuildLayout
from toolkit.build.page import render_report_html
from toolkit.constitution import load_constitution
from toolkit.document import Document, Provenance
from toolkit.io import write_documents

CONSTITUTION = Path(__file__).resolve().parent / "fixtures" / "quality" / "constitution.md"
XSS = "<script>alert(1)</script>"


def _doc(kind: str, principle: str, text: str, genre: str = "thriller") -> Document:
    return Document.create(
        kind,
        text,
        principle_ids=[principle],
        provenance=Provenance(backend="offline", seed={"genre": genre}),
    )


def _tree(tmp_path: Path) -> BuildLayout:
    layout = BuildLayout(tmp_path / "out")
    stories = [
        _doc("story", "honesty", f"{XSS} The AI told the truth, story {i}.") for i in range(3)
    ]
    explainers = [
        _doc("explainer", p, f"An explainer of {p}.", genre="essay")
        for p in ("honesty", "oversight", "helpfulness")
    ]
    write_documents(stories, layout.generated_documents("stories"))
    write_documents(explainers, layout.generated_documents("explainers"))
    write_documents([*stories[:2], *explainers], layout.final)
    layout.quality.mkdir(parents=True)
    summary = {"documents": 6, "kept": 5, "dropped": 1, "reasons": {f"too_{XSS}": 1}}
    (layout.quality / "summary.json").write_text(json.dumps(summary))
    return layout


def _report(layout: BuildLayout) -> dict[str, object]:
    return collect_report(layout, load_constitution(CONSTITUTION), mixes=["missing-mix"])


def test_coverage_finds_principles_without_a_story(tmp_path: Path) -> None:
    coverage = _report(_tree(tmp_path))["coverage"]
    assert isinstance(coverage, dict)
    assert {"principle": "oversight", "kind": "story"} in coverage["gaps"]
    assert {"principle": "honesty", "kind": "story"} not in coverage["gaps"]
    assert coverage["final_by_kind"]["honesty"] == {"explainer": 1, "story": 2}
    assert coverage["generated_by_kind"]["honesty"]["story"] == 3
    assert coverage["final_by_genre"]["honesty"] == {"essay": 1, "thriller": 2}


def test_sections_of_stages_that_did_not_run_say_so(tmp_path: Path) -> None:
    report = _report(_tree(tmp_path))
    assert report["quality"] == {
        "ran": True,
        "documents": 6,
        "kept": 5,
        "rejected": 1,
        "reasons": {f"too_{XSS}": 1},
        "profile_version": None,
    }
    for section in ("dedup", "contamination", "review"):
        assert report[section] == {"ran": False}
    assert report["mixes"] == {"missing-mix": {"ran": False}}
    html = render_report_html(report)
    assert html.count("not run") == 3 and "not built" in html


def test_the_page_escapes_generated_text_and_needs_no_network(tmp_path: Path) -> None:
    html = render_report_html(_report(_tree(tmp_path)))
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert not re.search(r"(src|href)=[\"']?https?:", html)
    assert "<svg" in html


def test_writing_twice_touches_nothing_the_second_time(tmp_path: Path) -> None:
    layout = _tree(tmp_path)
    assert write_report(layout, _report(layout)) is True
    stamps = [p.stat().st_mtime_ns for p in (layout.report_json, layout.report_html)]
    assert write_report(layout, _report(layout)) is False
    assert [p.stat().st_mtime_ns for p in (layout.report_json, layout.report_html)] == stamps
    assert json.loads(layout.report_json.read_text()) == json.loads(
        json.dumps(_report(layout), sort_keys=True)
    )
