"""Horizontal bar charts drawn as SVG by the server: no script, no inline style.

Every chart has an accessible `<title>`, a `<title>` per bar (label, series and value), and is
styled by classes (see `.cw-chart` in static/css/casework.css). It always sits next to a real
`<table>` of the same figures, which is what screen readers and copy-paste should use.

Each row's label is written on its own line above its bars, so that long names (offices, SDG
targets) are readable. Right-to-left pages get a mirrored chart: labels and bars start on the
right and bars grow leftwards, text is written right to left (the anchors follow the
`direction` set on the SVG).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
VALUE_WIDTH = 70  # room for the value written after the longest bar
PAD = 6
LABEL_HEIGHT = 18  # each row's label sits on its own line, above its bars
BAR_HEIGHT = 14
BAR_GAP = 2
GROUP_GAP = 10
MAX_LABEL_CHARS = 95


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
    bars_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    group_height = LABEL_HEIGHT + bars_height
    height = PAD * 2 + len(rows) * group_height + max(len(rows) - 1, 0) * GROUP_GAP
    plot_width = WIDTH - 2 * PAD - VALUE_WIDTH

    def x(position: float) -> float:
        """Mirror horizontal positions on right-to-left pages."""
        return WIDTH - position if rtl else position

    direction = "rtl" if rtl else "ltr"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="cw-chart" role="img" aria-labelledby="{chart_id}-title" '
        f'direction="{direction}" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (row, row_values) in enumerate(zip(rows, values, strict=True)):
        label = str(row.get(label_key) or "—")
        y0 = PAD + index * (group_height + GROUP_GAP)
        parts.append('<g class="cw-row">')
        parts.append(
            f'<text class="cw-label" x="{x(PAD):.1f}" y="{y0 + LABEL_HEIGHT - 5:.1f}" '
            f'text-anchor="start"><title>{escape(label)}</title>{escape(_shorten(label))}</text>'
        )
        for position, (item, value) in enumerate(zip(series, row_values, strict=True)):
            y = y0 + LABEL_HEIGHT + position * (BAR_HEIGHT + BAR_GAP)
            shown = "—" if value is None else fmt(value)
            length = 0.0 if value is None else max(min(value / top, 1.0), 0.0) * plot_width
            tooltip = escape(f"{label} · {item.label}: {shown}")
            if value is not None:
                left = x(PAD + length) if rtl else x(PAD)
                parts.append(
                    f'<rect class="cw-bar {escape(item.css)}" x="{left:.1f}" y="{y:.1f}" '
                    f'width="{max(length, 1.0):.1f}" height="{BAR_HEIGHT}">'
                    f"<title>{tooltip}</title></rect>"
                )
            parts.append(
                f'<text class="cw-value" x="{x(PAD + length + 4):.1f}" '
                f'y="{y + BAR_HEIGHT / 2:.1f}" text-anchor="start" dominant-baseline="central">'
                f"{escape(shown)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    # Every text above is escaped; chart_id comes from code (a section name, never a request).
    svg = "".join(parts)
    return Markup(svg)  # noqa: S704  # nosec B704
