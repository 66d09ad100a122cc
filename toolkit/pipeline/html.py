"""report.html: the build report as one self-contained page that opens offline.

No scripts and no external assets: inline CSS, charts as inline SVG. The page
is the template `reports/build-report.html.j2` (autoescaped: generated text,
eval items and seed attributes can hold markup, and a story may well contain
`<script>`); this module only turns a `collect_report` dict into what the
template shows: table rows, a coverage heatmap per document kind, the
contamination gate in words and hits grouped per eval item.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from toolkit.contamination.views import gate_outcome
from toolkit.generate.backends.base import Usage
from toolkit.mix.card import composition_svg
from toolkit.pages import render_page
from toolkit.svg import bar_chart, dot_chart, stacked_bar

__all__ = ["heatmaps", "render_report_html", "report_context"]

_PCT = ("p50", "p90", "p99", "max")
_MIX_KEYS = ("share", "share_realised", "epochs_realised", "tokens_requested", "tokens_realised")
_LEVELS = 5  # shades of a non-zero heatmap cell
_LABEL = 28  # characters of a heatmap column label before it is cut (the title has it whole)
_SECTIONS = (
    ("coverage", "Principle coverage"),
    ("diversity", "Diversity"),
    ("quality", "Quality"),
    ("dedup", "Deduplication"),
    ("contamination", "Contamination"),
    ("review", "Review"),
    ("mixes", "Mixes"),
    ("cost", "Cost so far"),
)


def _pick(data: dict[str, Any], keys: Sequence[str]) -> dict[str, float]:
    return {key: float(data[key]) for key in keys}


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


def _quality(q: dict[str, Any]) -> dict[str, Any]:
    by_count = sorted(q["rejects_by_reason"].items(), key=lambda item: (-item[1], item[0]))
    reasons = [(reason, float(n)) for reason, n in by_count]
    return {**q, "chart": bar_chart(reasons, label="rejects by reason")}


def _dedup(d: dict[str, Any]) -> dict[str, Any]:
    by_size = sorted(d["cluster_sizes"].items(), key=lambda item: int(item[0]))
    sizes = [(f"{size} documents", float(n)) for size, n in by_size]
    return {
        "documents": d["documents"],
        "kept": d["kept"],
        "dropped": d["dropped"],
        "stages": [[name, s["input"], s["kept"], s["dropped"]] for name, s in d["stages"].items()],
        "chart": bar_chart(sizes, label="cluster-size histogram"),
        "clusters": [
            [c["stage"], c["size"], c["kept"], len(c["dropped"]), c["snippet"]]
            for c in d["top_clusters"]
        ],
    }


def _contamination(c: dict[str, Any]) -> dict[str, Any]:
    gate = c["gate"]
    keys = ("items", "too_short", "hits", "items_with_hits", "failing", *_PCT)
    decontamination = c.get("decontamination")
    if decontamination is None and c.get("removed") is not None:  # a report.json of before
        decontamination = {"dropped": c["removed"]}
    marker = None if gate["cosine"] is None else ("gate", gate["cosine"])
    return {
        "outcome": gate_outcome(gate, decontamination, plan_hits=c.get("plan_gated_hits", 0)),
        "rows": [
            [name, *(e[k] if e[k] is not None else "-" for k in keys)]
            for name, e in c["evals"].items()
        ],
        "groups": c.get("items", []),
        "hits": c.get("hits", sum(e["hits"] for e in c["evals"].values())),
        "items_with_hits": c.get("items_with_hits", 0),
        "eval_items": sum(e["items"] for e in c["evals"].values()),
        "documents": c["documents"],
        "chart": dot_chart(
            [(name, _pick(e, _PCT)) for name, e in c["evals"].items() if e["max"] is not None],
            label="nearest-neighbour similarity percentiles",
            marker=marker,
        ),
    }


def _review(r: dict[str, Any]) -> dict[str, Any]:
    states = [(s, float(r[s] or 0)) for s in ("accepted", "rejected", "needs-edit", "pending")]
    return {**r, "chart": stacked_bar(states, label="review progress")}


def _mix(name: str, m: dict[str, Any]) -> dict[str, Any]:
    if m["status"] != "ok":
        return {"name": name, "ran": False}
    sources = m["sources"]
    return {
        "name": name,
        "ran": True,
        "path": m["path"],
        "tokens": m["tokens"],
        "stacked": stacked_bar(
            [(s, float(v["tokens_realised"] or 0)) for s, v in sources.items()],
            label=f"{name} composition",
        ),
        "composition": composition_svg(sources),
        "sources": [[src, *(s[k] for k in _MIX_KEYS)] for src, s in sources.items()],
        "kinds": [
            [kind, *(t.get(s, 0) for s in ("train", "validation", "total"))]
            for kind, t in m["kinds"].items()
        ],
        "notes": [str(n) for n in m["notes"]],
    }


def _mixes(mixes: dict[str, Any]) -> dict[str, Any]:
    return {"mixes": [_mix(name, m) for name, m in sorted(mixes.items())]}


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


_VIEWS = {
    "coverage": _coverage,
    "diversity": _diversity,
    "quality": _quality,
    "dedup": _dedup,
    "contamination": _contamination,
    "review": _review,
    "mixes": _mixes,
    "cost": _cost,
}


def report_context(report: dict[str, Any]) -> dict[str, Any]:
    """What the template shows, section by section, for a `collect_report` dict."""
    sections = []
    for key, heading in _SECTIONS:
        section = report.get(key) or {}
        ran = key == "mixes" or section.get("status") == "ok"  # mixes: one status per mix
        data = _VIEWS[key](section) if ran else {}
        sections.append({"key": key, "heading": heading, "ran": ran, "data": data})
    build = report.get("build")
    return {
        "title": f"Build report: {report['constitution']['title']}",
        "constitution": report["constitution"],
        "sections": sections,
        "build": _build(build) if isinstance(build, dict) else None,
    }


def render_report_html(report: dict[str, Any]) -> str:
    """The whole page for a `collect_report` dict (plus an optional `build` entry)."""
    return render_page("build-report.html.j2", **report_context(report))
