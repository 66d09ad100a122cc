"""report.html: the build report as one self-contained page that opens offline.

No scripts and no external assets: inline CSS, charts as inline SVG. The page
is the template `reports/build-report.html.j2` (autoescaped: generated text,
eval items and seed attributes can hold markup, and a story may well contain
`<script>`); this module only turns a `collect_report` dict into what the
template shows: coverage (a heatmap per document kind), diversity and cost
here, every other section through its stage's `Section.view`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from toolkit.generate.backends.base import Usage
from toolkit.pages import render_page
from toolkit.pipeline.sections import Section
from toolkit.pipeline.stages import DEFAULT_STAGES, Stage

__all__ = ["heatmaps", "render_report_html", "report_context"]

_LEVELS = 5  # shades of a non-zero heatmap cell
_LABEL = 28  # characters of a heatmap column label before it is cut (the title has it whole)


def _level(count: int, top: int) -> int:
    """0 for an empty cell, else 1.._LEVELS by the count's share of the largest."""
    return 0 if count <= 0 else max(1, math.ceil(_LEVELS * count / max(top, 1)))


def _short(label: str) -> str:
    return label if len(label) <= _LABEL else label[: _LABEL - 1] + "…"


def heatmaps(coverage: dict[str, Any]) -> list[dict[str, Any]]:
    """One grid per document kind: principles x that kind's own seed axis.

    Over the final documents when the build got that far, else the generated
    ones. Columns are only the values that kind was written with, so story
    genres and explainer forms never share a grid.
    """
    over = "final" if coverage["final"]["status"] == "ok" else "generated"
    block = coverage[over]
    grids = []
    for kind, axis in coverage.get("axes", {}).items():
        counts = block.get("by_kind_axis", {}).get(kind)
        if not counts or not axis["values"]:
            continue
        values = axis["values"]
        table = [[counts.get(p, {}).get(v, 0) for v in values] for p in coverage["principles"]]
        top = max((n for row in table for n in row), default=0)
        if top == 0:
            continue
        rows = [
            {
                "principle": p,
                "total": sum(row),
                "cells": [
                    {"column": v, "count": n, "level": _level(n, top)}
                    for v, n in zip(values, row, strict=True)
                ],
            }
            for p, row in zip(coverage["principles"], table, strict=True)
        ]
        columns = [
            {"name": v, "short": _short(v), "total": sum(row[i] for row in table)}
            for i, v in enumerate(values)
        ]
        grids.append(
            {
                "kind": kind,
                "attribute": axis["attribute"],
                "over": over,
                "documents": sum(c["total"] for c in columns),
                "top": top,
                "columns": columns,
                "rows": rows,
                "cells": len(values) * len(rows),
                "filled": sum(1 for row in table for n in row if n),
                "without": block.get("without_axis", {}).get(kind, 0),
            }
        )
    return grids


def _coverage(c: dict[str, Any]) -> dict[str, Any]:
    main = c["final"] if c["final"]["status"] == "ok" else c["generated"]
    generated = c["generated"] if c["generated"]["status"] == "ok" else None
    over = "final" if main is c["final"] else "generated"
    rows = [[p, *(main["by_kind"][p][k] for k in c["kinds"])] for p in c["principles"]]
    header = ["principle", *(f"{k} ({over})" for k in c["kinds"])]
    if generated is not None and main is not generated:
        header += [f"{k} (generated)" for k in c["kinds"]]
        for row, p in zip(rows, c["principles"], strict=True):
            row += [generated["by_kind"][p][k] for k in c["kinds"]]
    grids = heatmaps(c)
    shown = {g["kind"] for g in grids}
    no_axis = [
        f"{kind}: {n} document(s), none with a genre, form or situation in its seed; no grid."
        for kind, n in main.get("documents_by_kind", {}).items()
        if kind not in shown and n
    ]
    return {
        "principles": len(c["principles"]),
        "gaps": c["gaps"],
        "gaps_over": c["gaps_over"],
        "kind_header": header,
        "kind_rows": rows,
        "over": over,
        "heatmaps": grids,
        "heat_top": max((g["top"] for g in grids), default=0),
        "no_axis": no_axis,
    }


def _diversity(d: dict[str, Any]) -> dict[str, Any]:
    keys = ("documents", *(f"distinct_{n}grams" for n in (1, 2, 3)), "embedding_spread")
    return {
        "over": d["over"],
        "rows": [
            [kind, *(k[key] if k[key] is not None else "n/a" for key in keys)]
            for kind, k in d["kinds"].items()
        ],
        "openers": [
            (kind, [[o["opener"], o["count"]] for o in k["top_openers"]])
            for kind, k in d["kinds"].items()
        ],
    }


def _cost(c: dict[str, Any]) -> dict[str, Any]:
    keys = tuple(Usage().to_dict())  # input, output, cache write, cache read
    rows = [
        [kind, k["requests"], k["cost_usd"], *(k["tokens"].get(t, 0) for t in keys)]
        for kind, k in c["by_kind"].items()
    ]
    rows.append(["total", c["requests"], c["cost_usd"], *(c["tokens"].get(t, 0) for t in keys)])
    return {"cost_usd": c["cost_usd"], "requests": c["requests"], "rows": rows}


def _build(b: dict[str, Any]) -> dict[str, Any]:
    gate = b.get("gate") or {}
    return {
        "stages": sorted(b.get("stages") or {}),
        "gate": [
            [key, value if isinstance(value, int | float) else str(value)]
            for key, value in sorted(gate.items())
        ],
    }


def _sections(order: Sequence[type[Stage]]) -> list[Section]:
    """Coverage and diversity, each stage's own section in build order, then the cost."""
    head = [
        Section("coverage", "Principle coverage", _nothing, _coverage),
        Section("diversity", "Diversity", _nothing, _diversity),
    ]
    own = [stage.section for stage in order if stage.section is not None]
    return [*head, *own, Section("cost", "Cost so far", _nothing, _cost)]


def _nothing(*_: Any) -> dict[str, Any]:  # these three are collected by figures.collect_report
    return {}


def report_context(
    report: dict[str, Any], order: Sequence[type[Stage]] = DEFAULT_STAGES
) -> dict[str, Any]:
    """What the template shows, section by section, for a `collect_report` dict."""
    sections = []
    for section in _sections(order):
        figures = report.get(section.key) or {}
        ran = section.always or figures.get("status") == "ok"
        data = section.view(figures) if ran else {}
        sections.append({"key": section.key, "heading": section.heading, "ran": ran, "data": data})
    build = report.get("build")
    return {
        "title": f"Build report: {report['constitution']['title']}",
        "constitution": report["constitution"],
        "sections": sections,
        "build": _build(build) if isinstance(build, dict) else None,
    }


def render_report_html(
    report: dict[str, Any], order: Sequence[type[Stage]] = DEFAULT_STAGES
) -> str:
    """The whole page for a `collect_report` dict (plus an optional `build` entry)."""
    return render_page("build-report.html.j2", **report_context(report, order))
