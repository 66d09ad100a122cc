"""A self-contained HTML page of a contamination report: no scripts, no
external assets, every piece of corpus or eval text escaped (a corpus may hold
`<script>`, and a report must be safe to open)."""

from __future__ import annotations

from html import escape
from typing import Any

from toolkit.contamination.judge import judge_line

__all__ = ["render_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em}
th{background:#f3f3f3}.fail{color:#b00020;font-weight:bold}.pass{color:#0a7a2f;font-weight:bold}
.hit{border:1px solid #ddd;border-radius:4px;padding:.6em 1em;margin:.8em 0}
.hit.gated{border-color:#b00020}.ctx{white-space:pre-wrap;font-family:ui-monospace,monospace}
mark{background:#ffe08a}.item{white-space:pre-wrap;color:#444;background:#f7f7f7;padding:.4em}
.meta{color:#666;font-size:90%}
"""
_BINS = 20


def histogram_svg(values: list[float], *, width: int = 360, height: int = 120) -> str:
    """Bars of nearest-neighbour similarity in [0, 1] (negatives in the first bin)."""
    counts = [0] * _BINS
    for value in values:
        counts[min(_BINS - 1, max(0, int(value * _BINS)))] += 1
    top = max(counts) or 1
    bar = width / _BINS
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 16}" '
        f'role="img" aria-label="similarity histogram">'
    ]
    for i, count in enumerate(counts):
        h = (height - 4) * count / top
        parts.append(
            f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" '
            f'height="{h:.1f}" fill="#4a78c2"><title>{i / _BINS:.2f}&#8211;{(i + 1) / _BINS:.2f}: '
            f"{count}</title></rect>"
        )
    for tick in (0, 0.5, 1):
        x = min(tick * width, width - 14)
        parts.append(f'<text x="{x:.0f}" y="{height + 13}" font-size="10">{tick}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _eval_table(report: dict[str, Any]) -> str:
    rows = [
        "<table><tr><th>eval</th><th>items</th><th>too short</th><th>with hits</th>"
        "<th>failing</th><th>p50</th><th>p90</th><th>p99</th><th>max</th>"
        "<th>nearest-neighbour similarity</th></tr>"
    ]
    for name, row in report["summary"]["evals"].items():
        dist = report["distance"].get(name, {})
        figures = "".join(
            f"<td>{escape(str(dist.get(k, '&#8211;')))}</td>" for k in ("p50", "p90", "p99", "max")
        )
        chart = histogram_svg(dist["nearest"]) if dist.get("nearest") else "&#8211;"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{row['items']}</td><td>{row['too_short']}</td>"
            f"<td>{row['items_with_hits']}</td><td>{row['failing_items']}</td>{figures}"
            f"<td>{chart}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _closest(report: dict[str, Any]) -> str:
    parts = []
    for name, dist in report["distance"].items():
        docs = ", ".join(f"{escape(c['doc_id'])} ({c['score']})" for c in dist.get("closest", []))
        parts.append(f"<li>{escape(name)}: {docs or '&#8211;'}</li>")
    return f"<h2>Closest documents</h2><ul>{''.join(parts)}</ul>" if parts else ""


def _hit(hit: dict[str, Any]) -> str:
    start, end = hit["doc_span"]
    return (
        f'<div class="hit{" gated" if hit["gated"] else ""}">'
        f'<div class="meta">{"<b>GATE</b> · " if hit["gated"] else ""}'
        f"{escape(hit['eval'])}[{hit['eval_index']}] in <code>{escape(hit['doc_id'])}</code> "
        f"({escape(hit['source'])}) · {escape(hit['stage'])} {hit['score']} · "
        f"characters {start}&#8211;{end}</div>"
        f'<div class="ctx">…{escape(hit["context"]["before"])}<mark>'
        f"{escape(hit['doc_text'])}</mark>{escape(hit['context']['after'])}…</div>"
        f'<div class="item">{escape(hit["item_text"])}</div>'
        + (
            f'<div class="meta">judge: {escape(hit["judge_reason"])}</div>'
            if hit.get("judge_reason")
            else ""
        )
        + "</div>"
    )


def _judge(judge: dict[str, Any] | None) -> str:
    if not judge:
        return ""
    return f"<p>{escape(judge_line(judge))}</p>"


def render_html(report: dict[str, Any], *, max_hits: int = 500) -> str:
    """The whole page as a string."""
    summary = report["summary"]
    gate = summary["gate"]
    verdict = (
        '<span class="pass">passed</span>' if gate["passed"] else '<span class="fail">FAILED</span>'
    )
    hits = sorted(report["hits"], key=lambda h: (not h["gated"], -h["score"]))
    more = len(hits) - max_hits
    short = "".join(
        f"<li>{escape(t['eval'])}[{t['eval_index']}]: {escape(t['text'][:200])}</li>"
        for t in report["too_short"]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Contamination report</title><style>{_STYLE}</style></head><body>"
        f"<h1>Contamination report</h1><p>Corpus <code>{escape(summary['corpus'])}</code>: "
        f"{summary['documents']} documents, {summary['characters']} characters. "
        f"Gate {verdict}: {gate['failing_items']} failing item(s) "
        f"(n-gram share ≥ {gate['ngram_share']}, cosine ≥ {gate['cosine']}).</p>"
        f"{_judge(summary.get('judge'))}"
        f"{_eval_table(report)}<p class=meta>{escape(summary['ngram']['short_item_rule'])}</p>"
        f"{_closest(report)}<h2>Hits ({len(hits)})</h2>"
        + "".join(_hit(h) for h in hits[:max_hits])
        + (f"<p>… {more} more in contamination.json</p>" if more > 0 else "")
        + (
            f"<h2>Too short to check ({len(report['too_short'])})</h2><ul>{short}</ul>"
            if short
            else ""
        )
        + "</body></html>\n"
    )
