"""Horizontal bar charts drawn as SVG by the server: no script, no inline style.

Every chart has an accessible `<title>`, a `<title>` per bar (label, series and value), and is
styled by classes (see `.cw-chart` in static/css/casework.css). It always sits next to a real
`<table>` of the same figures, which is what screen readers and copy-paste should use.

Right-to-left pages get a mirrored chart: labels on the right, bars growing leftwards, text
written right to left (the anchors follow the `direction` set on the SVG).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 720
LABEL_WIDTH = 210  # room for the category labels
VALUE_WIDTH = 78  # room for the value written after the longest bar
PAD = 8
BAR_HEIGHT = 16
BAR_GAP = 3
GROUP_GAP = 12
MAX_LABEL_CHARS = 30


@dataclass(frozen=True)
class Series:
    key: str  # the row's field to draw
    label: str
    css: str = "cw-s1"  # cw-s1 … cw-s4


def _shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(
    rows: Sequence[dict],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str],
    maximum: float | None = None,
    rtl: bool = False,
    label_key: str = "label",
) -> Markup:
    """One group of bars per row, one bar per series; `maximum` is the full-length value (1 for
    rates; the largest value by default). A missing value (None, or a suppressed string) draws
    no bar and is written "—"."""

    def number(value) -> float | None:
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    values = [[number(row.get(s.key)) for s in series] for row in rows]
    top = maximum or max((v for vs in values for v in vs if v is not None), default=0) or 1
    group_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    height = PAD * 2 + len(rows) * group_height + max(len(rows) - 1, 0) * GROUP_GAP
    plot_start = PAD + LABEL_WIDTH
    plot_width = WIDTH - plot_start - VALUE_WIDTH - PAD

    def x(position: float) -> float:
        """Mirror horizontal positions on right-to-left pages."""
        return WIDTH - position if rtl else position

    direction = "rtl" if rtl else "ltr"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="cw-chart" role="img" aria-labelledby="{chart_id}-title" '
        f'direction="{direction}" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line class="cw-axis" x1="{x(plot_start):.1f}" y1="{PAD / 2:.1f}" '
        f'x2="{x(plot_start):.1f}" y2="{height - PAD / 2:.1f}"/>',
    ]
    for index, (row, row_values) in enumerate(zip(rows, values, strict=True)):
        label = str(row.get(label_key) or "—")
        y0 = PAD + index * (group_height + GROUP_GAP)
        parts.append('<g class="cw-row">')
        parts.append(
            f'<text class="cw-label" x="{x(plot_start - 6):.1f}" y="{y0 + group_height / 2:.1f}" '
            f'text-anchor="end" dominant-baseline="central"><title>{escape(label)}</title>'
            f"{escape(_shorten(label))}</text>"
        )
        for position, (item, value) in enumerate(zip(series, row_values, strict=True)):
            y = y0 + position * (BAR_HEIGHT + BAR_GAP)
            shown = "—" if value is None else fmt(value)
            length = 0.0 if value is None else max(min(value / top, 1.0), 0.0) * plot_width
            tooltip = escape(f"{label} · {item.label}: {shown}")
            if value is not None:
                left = x(plot_start + length) if rtl else x(plot_start)
                parts.append(
                    f'<rect class="cw-bar {escape(item.css)}" x="{left:.1f}" y="{y:.1f}" '
                    f'width="{max(length, 1.0):.1f}" height="{BAR_HEIGHT}">'
                    f"<title>{tooltip}</title></rect>"
                )
            parts.append(
                f'<text class="cw-value" x="{x(plot_start + length + 4):.1f}" '
                f'y="{y + BAR_HEIGHT / 2:.1f}" text-anchor="start" dominant-baseline="central">'
                f"{escape(shown)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
