"""report.html: the build report as one self-contained page that opens offline.

No scripts and no external assets: inline CSS, charts as inline SVG. Every
string from the report is escaped here, since generated text, eval names and
seed attributes can hold markup (a story may well contain `<script>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from toolkit.generate.backend import Usage
from toolkit.mix.card import composition_svg
from toolkit.svg import bar_chart, dot_chart, stacked_bar

__all__ = ["render_report_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:76em;color:#222;padding:0 1em}
h2{border-bottom:1px solid #ddd;margin-top:2em}table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}th{background:#f3f3f3}
td.n{text-align:right}td.zero{background:#fbd5d0;color:#8a1c12;font-weight:bold}
.muted{color:#777}.fail{color:#b00020;font-weight:bold}.pass{color:#0a7a2f;font-weight:bold}
.wide{overflow-x:auto}
"""
_EMPTY = '<p class="muted">nothing to draw</p>'
_NOT_RUN = '<p class="muted">not run</p>'
_NO_MIX = '<p class="muted">no mix requested</p>'


_PCT = ("p50", "p90", "p99", "max")
_MIX_KEYS = ("share", "share_realised", "epochs_realised", "tokens_requested", "tokens_realised")


def _pick(data: dict[str, Any], keys: Sequence[str]) -> dict[str, float]:
    return {key: float(data[key]) for key in keys}


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return escape(str(value).lower())
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, zeros: bool = False) -> str:
    """A table of escaped cells; numbers right-aligned, zeros highlighted when asked."""
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in header), "</tr>"]
    for row in rows:
        out.append("<tr>")
        for cell in row:
            number = isinstance(cell, int | float) and not isinstance(cell, bool)
            css = ' class="zero"' if zeros and number and cell == 0 else ' class="n"' * number
            out.append(f"<td{css}>{_fmt(cell)}</td>")
        out.append("</tr>")
    return "".join([*out, "</table>"])


def _coverage(c: dict[str, Any]) -> str:
    main = c["final"] if c["final"]["status"] == "ok" else c["generated"]
    generated = c["generated"] if c["generated"]["status"] == "ok" else None
    over = "final" if main is c["final"] else "generated"
    rows = [[p, *(main["by_kind"][p][k] for k in c["kinds"])] for p in c["principles"]]
    header = ["principle", *(f"{k} ({over})" for k in c["kinds"])]
    if generated is not None and main is not generated:
        header += [f"{k} (generated)" for k in c["kinds"]]
        for row, p in zip(rows, c["principles"], strict=True):
            row += [generated["by_kind"][p][k] for k in c["kinds"]]
    gaps = "".join(f"<li>{escape(g['principle'])}: no {escape(g['kind'])}</li>" for g in c["gaps"])
    parts = [
        f"<p>{len(c['principles'])} principles; {len(c['gaps'])} gap(s) (a principle with no "
        f"document of a kind in {escape(c['gaps_over'])}), highlighted below.</p>",
        f"<details><summary>List the gaps</summary><ul>{gaps}</ul></details>" if gaps else "",
        f'<div class="wide">{_table(header, rows, zeros=True)}</div>',
    ]
    if c["genres"]:
        genre_rows = [
            [p, *(main["by_genre"][p].get(g, 0) for g in c["genres"])] for p in c["principles"]
        ]
        parts += [
            f"<h3>Principle by genre ({over})</h3>",
            '<div class="wide">',
            _table(["principle", *c["genres"]], genre_rows),
            "</div>",
        ]
    return "".join(parts)


def _diversity(d: dict[str, Any]) -> str:
    keys = ("documents", *(f"distinct_{n}grams" for n in (1, 2, 3)), "embedding_spread")
    rows = [
        [kind, *(k[key] if k[key] is not None else "n/a" for key in keys)]
        for kind, k in d["kinds"].items()
    ]
    parts = [
        f"<p>Over the {escape(d['over'])} documents; spread is the mean pairwise cosine "
        "distance of at most 500 documents per kind (n/a without an embedding cache).</p>",
        _table(["kind", "documents", "distinct 1-grams", "2-grams", "3-grams", "spread"], rows),
    ]
    for kind, k in d["kinds"].items():
        openers = [[o["opener"], o["count"]] for o in k["top_openers"]]
        parts += [
            f"<h3>Most frequent openings: {escape(kind)}</h3>",
            _table(["opening", "documents"], openers),
        ]
    return "".join(parts)


def _quality(q: dict[str, Any]) -> str:
    by_count = sorted(q["rejects_by_reason"].items(), key=lambda item: (-item[1], item[0]))
    reasons = [(reason, float(n)) for reason, n in by_count]
    return (
        f"<p>{_fmt(q['documents'])} documents scored: {_fmt(q['kept'])} kept, "
        f"{_fmt(q['rejected'])} rejected (profile {_fmt(q['profile_version'])}).</p>"
        + (bar_chart(reasons, label="rejects by reason") or _EMPTY)
    )


def _dedup(d: dict[str, Any]) -> str:
    stages = [[name, s["input"], s["kept"], s["dropped"]] for name, s in d["stages"].items()]
    by_size = sorted(d["cluster_sizes"].items(), key=lambda item: int(item[0]))
    sizes = [(f"{size} documents", float(n)) for size, n in by_size]
    clusters = [
        [c["stage"], c["size"], c["kept"], len(c["dropped"]), c["snippet"]]
        for c in d["top_clusters"]
    ]
    return (
        f"<p>{_fmt(d['documents'])} documents: {_fmt(d['kept'])} kept, "
        f"{_fmt(d['dropped'])} dropped as duplicates.</p>"
        + _table(["stage", "input", "kept", "dropped"], stages)
        + "<h3>Cluster sizes</h3>"
        + (bar_chart(sizes, label="cluster-size histogram") or _EMPTY)
        + "<h3>Largest clusters</h3>"
        + _table(["stage", "size", "kept", "dropped", "kept text"], clusters)
    )


def _contamination(c: dict[str, Any]) -> str:
    gate = c["gate"]
    verdict = (
        '<span class="pass">passed</span>' if gate["passed"] else '<span class="fail">FAILED</span>'
    )
    keys = ("items", "too_short", "hits", "items_with_hits", "failing", "p50", "p90", "p99", "max")
    rows = [
        [name, *(e[k] if e[k] is not None else "-" for k in keys)] for name, e in c["evals"].items()
    ]
    removed = "" if c["removed"] is None else f" {_fmt(c['removed'])} document(s) removed."
    return (
        f"<p>Gate {verdict}: {_fmt(gate['failing_items'])} failing item(s) (n-gram share ≥ "
        f"{_fmt(gate['ngram_share'])}, cosine ≥ {_fmt(gate['cosine'])}).{removed}</p>"
        + _table(["eval", *(k.replace("_", " ") for k in keys)], rows)
        + "<h3>Nearest-neighbour similarity</h3>"
        + (
            dot_chart(
                [(name, _pick(e, _PCT)) for name, e in c["evals"].items() if e["max"] is not None],
                label="nearest-neighbour similarity percentiles",
                marker=None if gate["cosine"] is None else ("gate", gate["cosine"]),
            )
            or '<p class="muted">no semantic check</p>'
        )
    )


def _review(r: dict[str, Any]) -> str:
    states = [(s, float(r[s] or 0)) for s in ("accepted", "rejected", "needs-edit", "pending")]
    return (
        f"<p>{_fmt(r['decided'])} of {_fmt(r['total'])} decided ({_fmt(r['percent'])}%); "
        f"{_fmt(r['edited'])} edited.</p>"
        + (stacked_bar(states, label="review progress") or _EMPTY)
    )


def _mix(name: str, m: dict[str, Any]) -> str:
    head = f"<h3>{escape(name)}</h3>"
    if m["status"] != "ok":
        return head + _NOT_RUN
    sources = m["sources"]
    rows = [[src, *(s[k] for k in _MIX_KEYS)] for src, s in sources.items()]
    kinds = [
        [kind, *(t.get(s, 0) for s in ("train", "validation", "total"))]
        for kind, t in m["kinds"].items()
    ]
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in m["notes"])
    return (
        f"{head}<p><code>{escape(m['path'])}</code>: {_fmt(m['tokens']['realised'])} tokens "
        f"realised of {_fmt(m['tokens']['requested'])} requested.</p>"
        + stacked_bar(
            [(s, float(v["tokens_realised"] or 0)) for s, v in sources.items()],
            label=f"{name} composition",
        )
        + composition_svg(sources)
        + _table(["source", *(k.replace("_", " ") for k in _MIX_KEYS)], rows)
        + _table(["kind", "train tokens", "validation tokens", "tokens"], kinds)
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def _mixes(mixes: dict[str, Any]) -> str:
    return "".join(_mix(name, m) for name, m in sorted(mixes.items())) or _NO_MIX


def _cost(c: dict[str, Any]) -> str:
    keys = tuple(Usage().to_dict())  # input, output, cache write, cache read
    rows = [
        [kind, k["requests"], k["cost_usd"], *(k["tokens"].get(t, 0) for t in keys)]
        for kind, k in c["by_kind"].items()
    ]
    rows.append(["total", c["requests"], c["cost_usd"], *(c["tokens"].get(t, 0) for t in keys)])
    return f"<p>${c['cost_usd']:,.4f} so far over {_fmt(c['requests'])} requests.</p>" + _table(
        ["kind", "requests", "USD", "input", "output", "cache write", "cache read"], rows
    )


def _build(b: dict[str, Any]) -> str:
    gate = b.get("gate") or {}
    rows = [
        [key, value if isinstance(value, int | float) else str(value)]
        for key, value in sorted(gate.items())
    ]
    stages = ", ".join(escape(name) for name in sorted(b.get("stages") or {}))
    return f"<p>Stages recorded: {stages or 'none'}.</p>" + (
        _table(["review gate", "value"], rows) if rows else ""
    )


_SECTIONS = (
    ("coverage", "Principle coverage", _coverage),
    ("diversity", "Diversity", _diversity),
    ("quality", "Quality", _quality),
    ("dedup", "Deduplication", _dedup),
    ("contamination", "Contamination", _contamination),
    ("review", "Review", _review),
    ("mixes", "Mixes", _mixes),
    ("cost", "Cost so far", _cost),
)


def render_report_html(report: dict[str, Any]) -> str:
    """The whole page for a `collect_report` dict (plus an optional `build` entry)."""
    constitution = report["constitution"]
    title = escape(f"Build report: {constitution['title']}")
    body = []
    for key, heading, render in _SECTIONS:
        section = report.get(key) or {}
        ran = key == "mixes" or section.get("status") == "ok"  # mixes: one status per mix
        body.append(
            f'<h2 id="{key}">{escape(heading)}</h2>' + (render(section) if ran else _NOT_RUN)
        )
    if isinstance(report.get("build"), dict):
        body.append('<h2 id="build">Build</h2>' + _build(report["build"]))
    nav = " · ".join(f'<a href="#{key}">{escape(heading)}</a>' for key, heading, _ in _SECTIONS)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="muted">constitution version {escape(constitution["version"])}, '
        f"{_fmt(constitution['principles'])} principles</p><p>{nav}</p>{''.join(body)}"
        "</body></html>\n"
    )
