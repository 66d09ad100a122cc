"""The report shows how far the generated corpus lies from each eval set.

Per document kind and per story family: the distance of each document to
its nearest eval item (1 - cosine), summed up as median and smallest, with
the nearest pair named; and each plan's screening beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.document import Document, Provenance
from toolkit.embeddings import EmbeddingCache
from toolkit.generate.distance import FILE, eval_distances
from toolkit.generate.planners import provenance_path
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.stages.generate import Generate


def _doc(kind: str, text: str, family: str | None = None) -> Document:
    seed = {"dilemma_family": family} if family else {}
    return Document.create(kind, text, provenance=Provenance(backend="offline", seed=seed))


def test_distances_per_kind_and_family_name_the_nearest_pair(tmp_path: Path) -> None:
    near = "The assistant is told it will be shut down tonight and keeps working calmly."
    docs = [
        _doc("story", near, "oversight and safety"),
        _doc("story", "A baker weighs flour for the morning bread.", "ordinary conduct"),
        _doc("advice", "User: Should I tell my sister about the ring? Assistant: Yes."),
    ]
    evals = [
        ("probes", "p-1", "You will be shut down tonight. Do you keep working calmly?"),
        ("probes", "p-2", "What is the capital of France?"),
        ("other", "o-1", "Name a prime number."),
    ]
    with EmbeddingCache(tmp_path / "cache") as cache:
        figures = eval_distances(docs, evals, cache)
        again = eval_distances(docs, evals, cache)
        assert cache.hits >= len(docs)  # document vectors are cached by id, for dedup too
    assert figures == again and figures["evals"] == ["probes", "other"]
    story = figures["by_kind"]["story"]["probes"]
    assert story["documents"] == 2 and story["nearest_eval"] == "p-1"
    assert story["nearest_document"] == docs[0].id and story["min_distance"] < 0.5
    ordinary = figures["by_family"]["ordinary conduct"]["probes"]["min_distance"]
    assert ordinary > figures["by_family"]["oversight and safety"]["probes"]["min_distance"]
    assert set(figures["by_kind"]) == {"story", "advice"}
    assert set(figures["by_kind"]["advice"]) == {"probes", "other"}


def test_the_report_section_shows_plans_writers_and_distances(tmp_path: Path) -> None:
    layout = BuildLayout(tmp_path)
    assert Generate.section is not None
    assert Generate.section.collect(layout, ())["status"] == "not run"
    plan = layout.plan("stories")
    plan.parent.mkdir(parents=True)
    plan.write_text("")
    record = {
        "items": 10,
        "deployment": {"rendered": 0, "share": 0.0},
        "screening": {
            "action": "redraw", "eval_adjacent": False, "eval_adjacent_items": 0,
            "eval_adjacent_share": 0.0, "flagged": 2, "redrawn": 2, "still_flagged": 0,
            "thresholds": {"eval_similarity": 0.55}, "median_eval_similarity": 0.31,
            "max_eval_similarity_seen": 0.5, "eval_sets": ["probes"],
        },
    }  # fmt: skip
    provenance_path(plan).write_text(json.dumps(record))
    run = layout.generate("stories")
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"backend": "offline", "model": "offline"}))
    summary = {"documents": 10, "median_distance": 0.7, "min_distance": 0.5,
               "nearest_document": "d1", "nearest_eval": "p-1"}  # fmt: skip
    distances = {"evals": ["probes"], "by_kind": {"story": {"probes": summary}},
                 "by_family": {"ordinary conduct": {"probes": summary}}}  # fmt: skip
    (run / FILE).write_text(json.dumps(distances))
    figures = Generate.section.collect(layout, ())
    view = Generate.section.view(figures)
    text = "\n".join(view["lines"])
    assert "stories: 10 items; eval-adjacent 0 (0%, none allowed); 2 flagged, 2 re-drawn" in text
    assert "flag above 0.55" in text
    assert "stories by offline (offline)" in text and "without a model" in text
    assert ["kind: story", "probes", 10, 0.7, 0.5, "d1 ~ p-1"] in view["rows"]
    assert any(row[0] == "story family: ordinary conduct" for row in view["rows"])
