"""report.html: the build report as one self-contained, offline page.

No scripts, no external assets: inline CSS and SVG charts only. Every value
that came from data (titles, openers, reasons, ids) is escaped, since
generated text can hold markup.
"""

from __future__ import annotations

from html import escape
from typing import Any

from toolkit.contamination.html_report import histogram_svg
from toolkit.mix.card import composition_svg

__all__ = ["bars_svg", "render_report_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
td.n{text-align:right}td.gap{background:#f8d7d4;color:#8a1c12;font-weight:600}
.muted{color:#777}.bad{color:#8a1c12;font-weight:600}.good{color:#1d6b2f;font-weight:600}
"""
_BAR = 300
_LABEL = 220


def bars_svg(values: dict[str, float], *, label: str) -> str:
    """Horizontal bars, one per key, scaled to the largest value."""
    if not values:
        return '<p class="muted">nothing to draw</p>'
    top = max(values.values()) or 1
    height = 22 * len(values) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LABEL + _BAR + 60}" height="{height}" '
        f'font-family="sans-serif" font-size="12" role="img" aria-label="{escape(label)}">'
    ]
    for row, (name, value) in enumerate(values.items()):
        y = 4 + 22 * row
        width = round(_BAR * value / top, 1)
        parts.append(f'<text x="0" y="{y + 13}">{escape(str(name))[:34]}</text>')
        parts.append(
            f'<rect x="{_LABEL}" y="{y}" width="{width}" height="16" fill="#4a78c2"/>'
            f'<text x="{_LABEL + width + 4}" y="{y + 13}">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, tuple):  # (value, css class)
                cells.append(f'<td class="{cell[1]}">{escape(str(cell[0]))}</td>')
            elif isinstance(cell, int | float) and not isinstance(cell, bool):
                cells.append(f'<td class="n">{cell:g}</td>')
            else:
                cells.append(f"<td>{escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _not_run(section: dict[str, Any]) -> str | None:
    return '<p class="muted">not run</p>' if not section.get("ran", True) else None


def _coverage(cov: dict[str, Any]) -> str:
    kinds, genres = cov["kinds"], cov["genres"]
    rows = []
    for pid in cov["principles"]:
        final, generated = cov["final_by_kind"][pid], cov["generated_by_kind"][pid]
        cells: list[Any] = [pid]
        for kind in kinds:
            got = final.get(kind, 0)
            shown = f"{got} of {generated.get(kind, 0)}"
            cells.append((shown, "gap" if got == 0 else "n"))
        rows.append(cells)
    gaps = len(cov["gaps"])
    parts = [
        f"<p>{len(cov['principles'])} principles; cells: documents in the final corpus of "
        f'those generated; <span class="bad">{gaps} gap(s)</span> highlighted.</p>',
        _table(["principle", *kinds], rows),
    ]
    if genres:
        genre_rows = [
            [pid, *(cov["final_by_genre"][pid].get(g, 0) for g in genres)]
            for pid in cov["principles"]
        ]
        parts += ["<h3>By genre (final)</h3>", _table(["principle", *genres], genre_rows)]
    return "".join(parts)


def _diversity(div: dict[str, Any], of: str) -> str:
    rows = [
        [
            kind,
            d["documents"],
            d["distinct_1grams"],
            d["distinct_2grams"],
            d["distinct_3grams"],
            "n/a" if d["embedding_spread"] is None else d["embedding_spread"],
        ]
        for kind, d in div.items()
    ]
    parts = [
        f"<p>Over the {escape(of)} documents. Distinct n-grams: distinct over all word n-grams; "
        "spread: mean cosine distance between documents.</p>",
        _table(["kind", "documents", "distinct 1-grams", "2-grams", "3-grams", "spread"], rows),
    ]
    for kind, d in div.items():
        openers = [[o["opener"], o["documents"]] for o in d["top_openers"][:5]]
        parts += [
            f"<h3>Most frequent openers: {escape(kind)}</h3>",
            _table(["opener", "documents"], openers),
        ]
    return "".join(parts)


def _quality(q: dict[str, Any]) -> str:
    if (empty := _not_run(q)) is not None:
        return empty
    return (
        f"<p>{q['documents']} documents: {q['kept']} kept, {q['rejected']} rejected "
        f"(profile {escape(str(q['profile_version']))}).</p>"
        + bars_svg({k: float(v) for k, v in q["reasons"].items()}, label="rejects by reason")
    )


def _dedup(d: dict[str, Any]) -> str:
    if (empty := _not_run(d)) is not None:
        return empty
    stages = _table(["stage", "dropped"], [[s, n] for s, n in d["by_stage"].items()])
    clusters = _table(
        ["kept", "dropped duplicates"],
        [[c["kept"], ", ".join(c["dropped"])] for c in d["top_clusters"]],
    )
    return (
        f"<p>{d['documents']} documents: {d['kept']} kept, {d['dropped']} dropped.</p>{stages}"
        + bars_svg(
            {f"size {k}": float(v) for k, v in d["cluster_sizes"].items()}, label="cluster sizes"
        )
        + ("<h3>Largest clusters</h3>" + clusters if d["top_clusters"] else "")
    )


def _contamination(c: dict[str, Any]) -> str:
    if (empty := _not_run(c)) is not None:
        return empty
    passed = bool(c["gate"].get("passed"))
    verdict = '<span class="good">passed</span>' if passed else '<span class="bad">exceeded</span>'
    rows, charts = [], []
    for name, e in c["evals"].items():
        dist = e.get("distance", e)
        rows.append(
            [
                name,
                e.get("items", 0),
                e.get("hits", 0),
                e.get("failing", 0),
                *(dist.get(k, "") for k in ("p50", "p90", "p99", "max")),
            ]
        )
        values = dist.get("values")
        if isinstance(values, list) and values:
            charts.append(
                f"<h3>{escape(name)}: nearest-neighbour similarity</h3>" + histogram_svg(values)
            )
    return (
        f"<p>Gate {verdict}; hits {escape(json_dumps(c['hits']))}; {c['removed']} document(s) "
        "removed.</p>"
        + _table(["eval", "items", "with hits", "failing", "p50", "p90", "p99", "max"], rows)
        + "".join(charts)
    )


def json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _review(r: dict[str, Any], gate: dict[str, Any]) -> str:
    if (empty := _not_run(r)) is not None:
        return empty
    p = r["progress"]
    waiting = gate.get("awaiting")
    note = f" {waiting} in this build await review." if waiting else ""
    return (
        f"<p>{p.get('decided', 0)} of {p.get('total', 0)} decided "
        f"({p.get('percent', 0)}%).{note}</p>"
        + bars_svg(
            {k: float(p.get(k, 0)) for k in ("pending", "accepted", "rejected", "needs-edit")},
            label="review progress",
        )
    )


def _mixes(mixes: dict[str, Any]) -> str:
    if not mixes:
        return '<p class="muted">no mix</p>'
    parts = []
    for name, m in mixes.items():
        parts.append(f"<h3>{escape(name)}</h3>")
        if not m.get("ran"):
            parts.append('<p class="muted">not built</p>')
            continue
        tokens = m["tokens"]
        parts.append(
            f"<p>{escape(m['path'])}: {tokens.get('realised', 0):,} tokens of "
            f"{tokens.get('requested', 0):,} requested.</p>"
        )
        if m["sources"]:
            parts.append(composition_svg(m["sources"]))
    return "".join(parts)


def render_report_html(report: dict[str, Any]) -> str:
    """The whole page for a report from `collect_report` (plus the runner's `build` entry)."""
    gate = report.get("build", {}).get("gate", {})
    cost = report["cost"]
    title = escape(f"Build report: {report['constitution']['title']}")
    sections = [
        ("Principle coverage", _coverage(report["coverage"])),
        ("Diversity", _diversity(report["diversity"], report["diversity_of"])),
        ("Quality rejects", _quality(report["quality"])),
        ("Deduplication", _dedup(report["dedup"])),
        ("Contamination", _contamination(report["contamination"])),
        ("Review", _review(report["review"], gate)),
        ("Mixes", _mixes(report["mixes"])),
        (
            "Cost so far",
            f"<p>${cost['cost_usd']:.4f}; tokens {escape(json_dumps(cost['tokens']))}</p>",
        ),
    ]
    body = "".join(f"<h2>{escape(name)}</h2>{html}" for name, html in sections)
    version = escape(report["constitution"]["version"])
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="muted">constitution version {version}</p>{body}</body></html>\n'
    )
