"""A self-contained HTML page of a contamination report: no scripts, no
external assets. The page is the template `reports/contamination.html.j2`,
autoescaped, so every piece of corpus or eval text is shown as text (a corpus
may hold `<script>`, and a report must be safe to open)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from toolkit.contamination.views import page_context
from toolkit.pages import render_page

__all__ = ["histogram_svg", "render_html"]

_BINS = 20


def histogram_svg(values: list[float], *, width: int = 360, height: int = 120) -> Markup:
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
    return Markup("".join(parts))


def render_html(report: dict[str, Any], *, max_items: int = 200) -> str:
    """The whole page as a string: hits grouped per eval item, the strongest `max_items`."""
    histograms = {
        name: histogram_svg(dist["nearest"])
        for name, dist in report["distance"].items()
        if dist.get("nearest")
    }
    context = page_context(report, max_items=max_items)
    return render_page("contamination.html.j2", **context, histograms=histograms)
