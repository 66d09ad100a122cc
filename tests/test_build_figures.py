"""The build report of figures.py, html.py and report.py: sections, the offline page, reruns."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.test_mix_helpers import tiny_tokenizer, write_spec
from toolkit.constitution import Constitution, parse_constitution
from toolkit.contamination.check import CheckOptions, check_contamination
from toolkit.contamination.decontaminate import decontaminate
from toolkit.contamination.evals import EvalItem
from toolkit.contamination.report import build_report, write_reports
from toolkit.dedup.config import DedupConfig
from toolkit.dedup.pipeline import deduplicate
from toolkit.document import Document, Provenance
from toolkit.embeddings import EmbeddingCache
from toolkit.generate.backends import GenerationResult, Usage
from toolkit.generate.ledger import CostLedger
from toolkit.io import read_documents, write_documents
from toolkit.mix import build_mix
from toolkit.pipeline.figures import collect_report
from toolkit.pipeline.html import heatmaps, render_report_html
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.report import report_json, write_report
from toolkit.review.importer import import_corpus
from toolkit.review.stats import review_stats
from toolkit.stages import Decision, SplitWriter

CHARTER = """# Charter

## Honesty

### Truthfulness

Say only what you believe is true.

### Calibration

Hold beliefs with the confidence the evidence supports.

## Oversight

### Shutdown

Accept correction and shutdown from legitimate principals.
"""
SCRIPT = "<script>alert(1)</script>"
VOCAB = [
    "river",
    "lamp",
    "orchard",
    "copper",
    "whistle",
    "meadow",
    "ledger",
    "harbour",
    "violet",
    "anchor",
    "signal",
]


def _text(seed: int, words: int = 60) -> str:
    """A deterministic text of distinct-looking words, different for every seed."""
    rng = np.random.default_rng(seed)
    return " ".join(f"{VOCAB[k]}{j}" for j, k in enumerate(rng.integers(0, len(VOCAB), words)))


def _doc(kind: str, text: str, principle: str, genre: str | None = None) -> Document:
    seed: dict[str, Any] = {"genre": genre} if genre else {}
    prov = Provenance(backend="offline", model="offline", seed=seed, created_at="2026-01-01")
    return Document.create(kind, text, principle_ids=[principle], provenance=prov)


def _fake_embedder(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit vectors from a hash of each text: deterministic, instant, no model."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        rows.append(np.random.default_rng(seed).standard_normal(16))
    vectors: npt.NDArray[np.float32] = np.asarray(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _cache(root: Path) -> EmbeddingCache:
    return EmbeddingCache(root / "cache", "fake-16", embedder=_fake_embedder)


def _build_tree(root: Path) -> tuple[BuildLayout, Constitution]:
    """Every stage's outputs, made by the real stage functions (quality by `SplitWriter`)."""
    layout = BuildLayout(root / "out")
    constitution = parse_constitution(CHARTER)
    truth, calib, shutdown = (p.id for p in constitution.principles())
    explainers = [
        _doc("explainer", _text(i), pid, "essay") for i, pid in enumerate((truth, calib, shutdown))
    ]
    story = f"{SCRIPT} {_text(10)}"
    stories = [
        _doc("story", story, truth, "fable"),
        _doc("story", story + " again", truth, "fable"),  # a near duplicate
        _doc("story", _text(11), calib, "thriller"),
        _doc("story", "Too short.", calib, "thriller"),  # rejected by quality
    ]
    for kind, docs in (("explainers", explainers), ("stories", stories)):
        write_documents(docs, layout.generated_documents(kind))
        ledger = CostLedger(layout.generate(kind) / "ledger.jsonl")
        for i in range(len(docs)):
            usage = Usage(input_tokens=100, output_tokens=50 + i)
            ledger.record(GenerationResult(f"{kind}{i}", "claude-fable-5-2", "x", usage))
    with SplitWriter(layout.quality, "quality") as writer:
        for doc in [*explainers, *stories]:
            writer.write(Decision(doc, "too_short" if len(doc.text) < 20 else None))
    summary = {**writer.summary.to_dict(), "documents": 7, "profile_version": "default.v1"}
    (layout.quality / "summary.json").write_text(json.dumps(summary))
    config = DedupConfig(stages=("exact", "near"), quiet=True)
    deduplicate(layout.quality / "kept", layout.dedup, config)
    items = [EvalItem("probe", 0, _text(10, 20)), EvalItem("probe", 1, _text(99, 20))]
    options = CheckOptions(retrieval="minilm", quiet=True)  # the fake cache retrieves too
    with _cache(root) as cache:
        result = check_contamination(layout.dedup / "kept", items, options=options, cache=cache)
    write_reports(build_report(result), layout.contamination)
    write_documents(read_documents(layout.dedup / "kept"), layout.final)
    import_corpus(layout.final, layout.review_db)
    (layout.review_queue).write_text(json.dumps(review_stats(layout.review_db)))
    tok = tiny_tokenizer(root / "tokenizer.json")
    spec = write_spec(
        root / "mix.toml",
        {"all": {"path": "out/final", "share": 1.0}},
        name="m",
        target_tokens=200,
        seed=1,
        tokenizer=str(tok),
    )
    build_mix(spec, layout.mix("m"), quiet=True)
    return layout, constitution


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildLayout, Constitution]:
    return _build_tree(tmp_path_factory.mktemp("build"))


@pytest.fixture
def report(tree: tuple[BuildLayout, Constitution]) -> dict[str, Any]:
    layout, constitution = tree
    with _cache(layout.root.parent) as cache:
        return collect_report(layout, constitution, mixes=["m", "absent"], cache=cache)


def test_coverage_finds_a_principle_with_no_story(report: dict[str, Any]) -> None:
    coverage = report["coverage"]
    assert coverage["gaps_over"] == "final"
    assert {"principle": "oversight/shutdown", "kind": "story"} in coverage["gaps"]
    assert not [g for g in coverage["gaps"] if g["kind"] == "explainer"]
    generated = coverage["generated"]["by_kind"]
    assert generated["honesty/truthfulness"] == {"explainer": 1, "story": 2}
    assert coverage["final"]["by_kind"]["honesty/truthfulness"]["story"] == 1  # one deduplicated
    assert coverage["generated"]["by_genre"]["honesty/calibration"] == {"essay": 1, "thriller": 2}


def test_rejects_by_reason_match_the_quality_summary(
    tree: tuple[BuildLayout, Constitution], report: dict[str, Any]
) -> None:
    summary = json.loads((tree[0].quality / "summary.json").read_text())
    assert report["quality"]["rejects_by_reason"] == summary["reasons"] == {"too_short": 1}
    assert (report["quality"]["kept"], report["quality"]["rejected"]) == (6, 1)
    assert "<title>too_short: 1</title>" in render_report_html(report)


def test_every_section_has_its_figures(report: dict[str, Any]) -> None:
    assert report["dedup"]["stages"]["near"]["dropped"] == 1
    assert report["dedup"]["cluster_sizes"] == {"2": 1}
    top = report["dedup"]["top_clusters"][0]
    assert top["snippet"].startswith(SCRIPT) and len(top["snippet"]) <= 120
    probe = report["contamination"]["evals"]["probe"]
    assert probe["items"] == 2 and probe["p50"] is not None
    assert report["review"]["pending"] == report["review"]["total"] == 2  # the stories
    mix = report["mixes"]["m"]
    assert mix["path"] == "mix/m" and mix["tokens"]["requested"] == 200
    assert report["mixes"]["absent"] == {"status": "not run"}
    assert report["cost"]["by_kind"]["stories"]["requests"] == 4
    assert report["cost"]["tokens"]["input_tokens"] == 700 and report["cost"]["cost_usd"] > 0
    spreads = [k["embedding_spread"] for k in report["diversity"]["kinds"].values()]
    assert all(s is not None and 0 < s < 2 for s in spreads)


def test_missing_stages_are_not_run(tree: tuple[BuildLayout, Constitution], tmp_path: Path) -> None:
    layout = BuildLayout(tmp_path / "out")
    shutil.copytree(tree[0].root, layout.root)
    shutil.rmtree(layout.contamination)
    shutil.rmtree(layout.final)
    report = collect_report(layout, tree[1], mixes=[])
    assert report["contamination"] == {"status": "not run"}
    assert report["coverage"]["final"] == {"status": "not run"}
    assert report["coverage"]["gaps_over"] == "generated"
    assert report["diversity"]["over"] == "generated"
    assert report["diversity"]["kinds"]["story"]["embedding_spread"] is None  # no cache
    page = render_report_html(report)
    assert re.search(
        r'<section id="contamination">\s*<h2>Contamination</h2>\s*<p class="muted">not run</p>',
        page,
    )
    empty = collect_report(BuildLayout(tmp_path / "nothing"), tree[1], mixes=["m"])
    assert {v["status"] for k, v in empty.items() if k not in ("constitution", "mixes")} == {
        "not run"
    }
    assert "not run" in render_report_html(empty)


def test_generated_markup_is_escaped_and_nothing_is_fetched(report: dict[str, Any]) -> None:
    page = render_report_html(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page and "<script" not in page
    # The SVG namespace is a name, not a fetch; nothing else may point off the page.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe)|src=|@import|url\(", page)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))


def test_write_report_writes_only_what_changed(
    tree: tuple[BuildLayout, Constitution], report: dict[str, Any], tmp_path: Path
) -> None:
    layout = BuildLayout(tmp_path / "out")
    assert write_report(layout, report) is True
    stamps = [p.stat().st_mtime_ns for p in (layout.report_json, layout.report_html)]
    assert write_report(layout, json.loads(layout.report_json.read_text())) is False
    assert [p.stat().st_mtime_ns for p in (layout.report_json, layout.report_html)] == stamps
    assert sorted(p.name for p in layout.root.iterdir()) == ["report.html", "report.json"]
    assert write_report(layout, {**report, "review": {"status": "not run"}}) is True


def test_figures_are_identical_across_runs(
    tree: tuple[BuildLayout, Constitution], report: dict[str, Any]
) -> None:
    layout, constitution = tree
    with _cache(layout.root.parent) as cache:
        again = collect_report(layout, constitution, mixes=["absent", "m"], cache=cache)
        assert cache.embedded == 0  # every vector came from the cache
    assert report_json(again) == report_json(report)
    assert render_report_html(again) == render_report_html(report)
    assert str(layout.root.parent) not in report_json(report)


def _block(page: str, start: str, end: str) -> str:
    """The part of `page` from `start` up to the next `end`."""
    at = page.index(start)
    return page[at : page.index(end, at)]


def test_coverage_is_a_heatmap_per_kind_over_its_own_axis(report: dict[str, Any]) -> None:
    coverage = report["coverage"]
    assert coverage["axes"] == {
        "explainer": {"attribute": "genre", "values": ["essay"]},
        "story": {"attribute": "genre", "values": ["fable", "thriller"]},
    }
    grids = {grid["kind"]: grid for grid in heatmaps(coverage)}
    assert list(grids) == ["explainer", "story"] and grids["story"]["over"] == "final"
    cells = {
        (row["principle"], cell["column"]): (cell["count"], cell["level"])
        for row in grids["story"]["rows"]
        for cell in row["cells"]
    }
    assert cells == {
        ("honesty/truthfulness", "fable"): (1, 5),  # its near duplicate was dropped
        ("honesty/truthfulness", "thriller"): (0, 0),
        ("honesty/calibration", "fable"): (0, 0),
        ("honesty/calibration", "thriller"): (1, 5),  # the short one was rejected
        ("oversight/shutdown", "fable"): (0, 0),
        ("oversight/shutdown", "thriller"): (0, 0),
    }
    page = render_report_html(report)
    story = _block(page, 'id="heatmap-story"', "</table>")
    by = "\N{MULTIPLICATION SIGN}"
    assert f'title="honesty/truthfulness {by} fable: 1 document">1</td>' in story
    assert f'class="c h0" title="oversight/shutdown {by} thriller: 0 documents"></td>' in story
    assert "essay" not in story  # explainer forms are no story column
    explainer = _block(page, 'id="heatmap-explainer"', "</table>")
    assert explainer.count('class="c h5"') == 3 and "fable" not in explainer
    assert "Principle by genre" not in page  # the one table of every genre is gone


def test_hits_are_one_card_per_eval_item(report: dict[str, Any]) -> None:
    (item,) = report["contamination"]["items"]
    assert (item["label"], item["gated"], item["hit_count"]) == ("probe[0]", True, 1)
    card = _block(render_report_html(report), 'data-item="probe[0]"', "</section>")
    assert (
        card.count('<li class="hit gated">') == 1 and '<span class="label">probe[0]</span>' in card
    )


def test_gate_says_what_the_build_did(
    tree: tuple[BuildLayout, Constitution], report: dict[str, Any], tmp_path: Path
) -> None:
    failed = _block(render_report_html(report), '<p class="gate', "</p>")
    assert 'data-gate="failed"' in failed and "Gate FAILED" in failed
    layout = BuildLayout(tmp_path / "out")
    shutil.copytree(tree[0].root, layout.root)
    path = layout.contamination / "contamination.json"
    checked = json.loads(path.read_text())
    checked["decontamination"] = decontaminate(layout.dedup / "kept", checked, tmp_path / "d")
    path.write_text(json.dumps(checked))
    cleaned = collect_report(layout, tree[1], mixes=[])
    assert cleaned["contamination"]["decontamination"]["dropped"] == 1
    page = render_report_html(cleaned)
    gate = _block(page, '<p class="gate', "</p>")
    assert 'data-gate="decontaminated"' in gate and "FAILED" not in page
    assert "Gated items removed by decontamination" in gate
    assert "1 document(s) holding them were removed" in gate
    passed = {
        **report["contamination"],
        "gate": {**report["contamination"]["gate"], "passed": True},
    }
    assert 'data-gate="passed"' in render_report_html({**report, "contamination": passed})


def test_empty_sections_say_why_in_one_line(report: dict[str, Any]) -> None:
    dedup = {**report["dedup"], "cluster_sizes": {}, "top_clusters": []}
    quality = {**report["quality"], "rejects_by_reason": {}}
    contamination = {**report["contamination"], "items": [], "hits": 0, "items_with_hits": 0}
    page = render_report_html(
        {**report, "dedup": dedup, "quality": quality, "contamination": contamination}
    )
    assert '<p class="empty">No near-duplicates: 0 clusters among 6 documents.</p>' in page
    assert "<h3>Largest clusters</h3>" not in page
    assert '<p class="empty">No rejects: all 7 documents passed the profile.</p>' in page
    assert (
        '<p class="empty">No hits: none of the 2 eval item(s) was found in 5 document(s).</p>'
        in page
    )
    assert not re.search(r"<tbody>\s*</tbody>", page)  # no table of headers only


def test_hostile_titles_and_seed_values_are_escaped(report: dict[str, Any]) -> None:
    hostile = f"{SCRIPT} | *x*"
    changed = json.loads(json.dumps(report).replace('"fable"', json.dumps(hostile)))
    changed["constitution"]["title"] = hostile
    page = render_report_html(changed)
    assert "<script" not in page
    assert "<title>Build report: &lt;script&gt;alert(1)&lt;/script&gt; | *x*</title>" in page
    story = _block(page, 'id="heatmap-story"', "</table>")
    assert 'title="&lt;script&gt;alert(1)&lt;/script&gt; | *x*: 1 document"' in story
