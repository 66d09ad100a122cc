"""Small inline SVG charts for self-contained HTML reports: no plotting dependency.

Each function returns one `<svg>` element as `Markup` (or an empty `Markup`
when there is nothing to draw) with every label escaped, a `<title>` tooltip
per mark and an `aria-label`, so an autoescaping template embeds it as it is
and a page that does needs no script or external asset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["PALETTE", "bar_chart", "dot_chart", "stacked_bar"]

PALETTE = ("#1f4e79", "#4a78c2", "#8fb0de", "#e0a03a", "#b85c38", "#6b8e4e", "#8a6bb0", "#999")
_LABEL, _BAR, _ROW = 230, 320, 20


def _open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="sans-serif" font-size="12" role="img" aria-label="{escape(label)}">'
    )


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}"


def bar_chart(rows: Sequence[tuple[str, float]], *, label: str) -> Markup:
    """Horizontal bars, one per (name, value), scaled to the largest value."""
    if not rows:
        return Markup()
    top = max(value for _, value in rows) or 1.0
    parts = [_open(_LABEL + _BAR + 70, _ROW * len(rows) + 4, label)]
    for i, (name, value) in enumerate(rows):
        y, width = 2 + _ROW * i, round(_BAR * max(value, 0) / top, 1)
        parts.append(
            f'<text x="0" y="{y + 13}">{escape(name[:36])}</text>'
            f'<rect x="{_LABEL}" y="{y}" width="{width}" height="15" fill="{PALETTE[1]}">'
            f"<title>{escape(name)}: {_num(value)}</title></rect>"
            f'<text x="{_LABEL + width + 4}" y="{y + 13}">{_num(value)}</text>'
        )
    return Markup("".join([*parts, "</svg>"]))


def stacked_bar(parts: Sequence[tuple[str, float]], *, label: str) -> Markup:
    """One bar split by each part's share of the total, with a legend beneath."""
    total = sum(value for _, value in parts)
    if total <= 0:
        return Markup()
    width = _LABEL + _BAR
    out = [_open(width, 34 + 16 * len(parts), label)]
    x = 0.0
    for i, (name, value) in enumerate(parts):
        w, colour = width * value / total, PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" fill="{colour}">'
            f"<title>{escape(name)}: {_num(value)}</title></rect>"
            f'<rect x="0" y="{30 + 16 * i}" width="10" height="10" fill="{colour}"/>'
            f'<text x="16" y="{39 + 16 * i}">{escape(name)}: {_num(value)} '
            f"({value / total:.1%})</text>"
        )
        x += w
    return Markup("".join([*out, "</svg>"]))


def dot_chart(
    rows: Sequence[tuple[str, Mapping[str, float]]],
    *,
    label: str,
    marker: tuple[str, float] | None = None,
) -> Markup:
    """Per row, one dot per named value on a 0..1 axis; `marker` draws a dashed threshold."""
    if not rows:
        return Markup()
    names = list(dict.fromkeys(key for _, values in rows for key in values))
    height = _ROW * len(rows) + 56
    out = [_open(_LABEL + _BAR + 30, height, label)]
    for i, (name, values) in enumerate(rows):
        y = 24 + _ROW * i
        out.append(
            f'<text x="0" y="{y + 4}">{escape(name[:36])}</text>'
            f'<line x1="{_LABEL}" x2="{_LABEL + _BAR}" y1="{y}" y2="{y}" stroke="#ddd"/>'
        )
        for key, value in values.items():
            cx = _LABEL + _BAR * max(0.0, min(1.0, value))
            out.append(
                f'<circle cx="{cx:.1f}" cy="{y}" r="5" fill="{PALETTE[names.index(key) % 8]}">'
                f"<title>{escape(name)} {escape(key)}: {_num(value)}</title></circle>"
            )
    axis = height - 26
    out.append(f'<text x="{_LABEL - 3}" y="{axis}">0</text>')
    out.append(f'<text x="{_LABEL + _BAR - 3}" y="{axis}">1</text>')
    if marker is not None:
        mx = _LABEL + _BAR * max(0.0, min(1.0, marker[1]))
        out.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="14" y2="{axis - 12}" stroke="#b00020" '
            f'stroke-dasharray="4 3"/><text x="{mx - 20:.1f}" y="10" fill="#b00020">'
            f"{escape(marker[0])} {_num(marker[1])}</text>"
        )
    for j, key in enumerate(names):
        x = _LABEL + 70 * j
        out.append(
            f'<circle cx="{x + 5}" cy="{height - 9}" r="5" fill="{PALETTE[j % 8]}"/>'
            f'<text x="{x + 14}" y="{height - 5}">{escape(key)}</text>'
        )
    return Markup("".join([*out, "</svg>"]))
