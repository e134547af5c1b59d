"""Charts drawn on the server as SVG markup: no JavaScript, nothing the content security policy
has to allow. Colours and fonts come from core/static/core/dashboard.css (classes `vc-*`).

    line_chart(title="Pushes", days=[...], lines=[Line("sent", [...]), Line("delivered", [...])])
    bar_chart(title="Points per shop", bars=[Bar("PV-MI-01", 1200, "/admin/...")])

Every text and link is escaped; each chart is an `<svg role="img">` with a `<title>` and an
`aria-label`, axis labels, and a `<title>` on each point or bar (the browser shows it on hover).
Numbers and dates are formatted in the active language."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
LINE_HEIGHT = 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 16, 34, 28
BAR_ROW = 24
BAR_TOP = 4
BAR_LABEL = 120
BAR_VALUE = 70
TICKS = 4
MAX_SERIES = 4  # vc-s0 … vc-s3 in the stylesheet


@dataclass(frozen=True)
class Line:
    """One series of a line chart: a value per day of the chart's days."""

    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart; `link` (optional) opens what the bar counts."""

    label: str
    value: float
    link: str = ""
    series: int = 0  # its colour (vc-s0 … vc-s3): bars of two series compared side by side


def nice_ceiling(peak: float, ticks: int = TICKS) -> tuple[float, float]:
    """The top of the axis and its step: a round step (1, 2, 2.5 or 5 × 10ⁿ) such that `ticks`
    steps reach `peak`. An empty chart still has an axis up to `ticks`."""
    if peak <= 0:
        return float(ticks), 1.0
    raw = peak / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step * ticks >= peak:
            break
    if magnitude >= 1:
        step = max(1.0, round(step))
    return step * ticks, step


def _number(value: float) -> str:
    shown = int(value) if float(value).is_integer() else round(value, 1)
    return number_format(shown, force_grouping=True)


def _svg(*, title: str, width: int, height: int, kind: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="vc-chart vc-{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet"><title>{}</title>{}</svg>',
        kind,
        width,
        height,
        title,
        title,
        body,
    )


def _legend(lines: Sequence[Line], *, x: float) -> SafeString:
    items = []
    for i, line in enumerate(lines):
        left = x + i * 150
        items.append(
            format_html(
                '<rect class="vc-key vc-s{}" x="{}" y="10" width="12" height="12" rx="2"></rect>'
                '<text class="vc-legend" x="{}" y="20">{}</text>',
                i,
                f"{left:.1f}",
                f"{left + 17:.1f}",
                line.label,
            )
        )
    return mark_safe("".join(items))  # noqa: S308  (each item escaped by format_html)


def line_chart(
    *,
    title: str,
    days: Sequence[date],
    lines: Sequence[Line],
    width: int = WIDTH,
    height: int = LINE_HEIGHT,
) -> SafeString:
    """A line per series over `days` (one value per day, zeros included), with a value axis,
    a date every week on the time axis, a legend and each point's value on hover."""
    if len(lines) > MAX_SERIES:
        raise ValueError(f"at most {MAX_SERIES} lines in a chart")
    if any(len(line.values) != len(days) for line in lines):
        raise ValueError("every line needs one value per day")
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    top, step = nice_ceiling(max((v for line in lines for v in line.values), default=0))
    span = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return PAD_LEFT + plot_w * i / span

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (1 - value / top)

    parts = [_legend(lines, x=PAD_LEFT)]
    for k in range(TICKS + 1):
        value = step * k
        parts.append(
            format_html(
                '<line class="vc-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="vc-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                PAD_LEFT,
                width - PAD_RIGHT,
                f"{y(value):.1f}",
                f"{y(value):.1f}",
                PAD_LEFT - 6,
                f"{y(value) + 4:.1f}",
                _number(value),
            )
        )
    # A date under the last day and every seventh day before it (the same weekday).
    for i in range(len(days) - 1, -1, -7):
        parts.append(
            format_html(
                '<text class="vc-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x(i):.1f}",
                height - 8,
                date_format(days[i], "j M"),
            )
        )
    for n, line in enumerate(lines):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        area = f"{x(0):.1f},{y(0):.1f} {points} {x(len(days) - 1):.1f},{y(0):.1f}"
        parts.append(
            format_html(
                '<polygon class="vc-area vc-s{}" points="{}"></polygon>'
                '<polyline class="vc-line vc-s{}" points="{}"></polyline>',
                n,
                area,
                n,
                points,
            )
        )
        parts.append(
            format_html_join(
                "",
                '<circle class="vc-dot vc-s{}" cx="{}" cy="{}" r="2.5"><title>{} · {}: {}</title>'
                "</circle>",
                (
                    (
                        n,
                        f"{x(i):.1f}",
                        f"{y(v):.1f}",
                        date_format(day, "D j M"),
                        line.label,
                        _number(v),
                    )
                    for i, (day, v) in enumerate(zip(days, line.values, strict=True))
                ),
            )
        )
    body = mark_safe("".join(parts))  # noqa: S308  (each part escaped by format_html)
    return _svg(title=title, width=width, height=height, kind="line", body=body)


def bar_chart(*, title: str, bars: Sequence[Bar], width: int = WIDTH) -> SafeString:
    """A horizontal bar per row, longest first as given, its label on the left and its value
    at its end; a bar with a link opens it."""
    height = BAR_TOP + BAR_ROW * max(len(bars), 1) + 4
    plot_w = width - BAR_LABEL - BAR_VALUE - PAD_RIGHT
    peak = max((bar.value for bar in bars), default=0) or 1
    parts = []
    for i, bar in enumerate(bars):
        top = BAR_TOP + i * BAR_ROW
        length = max(plot_w * bar.value / peak, 1 if bar.value else 0)
        row = format_html(
            '<text class="vc-axis vc-label" x="{}" y="{}" text-anchor="end">{}</text>'
            '<rect class="vc-bar vc-s{}" x="{}" y="{}" width="{}" height="{}" rx="3">'
            "<title>{}: {}</title></rect>"
            '<text class="vc-value" x="{}" y="{}">{}</text>',
            BAR_LABEL - 8,
            top + BAR_ROW / 2 + 4,
            bar.label,
            bar.series % MAX_SERIES,
            BAR_LABEL,
            top + 4,
            f"{length:.1f}",
            BAR_ROW - 8,
            bar.label,
            _number(bar.value),
            f"{BAR_LABEL + length + 6:.1f}",
            top + BAR_ROW / 2 + 4,
            _number(bar.value),
        )
        if bar.link:
            row = format_html('<a href="{}">{}</a>', bar.link, row)
        parts.append(row)
    if not bars:
        parts.append(
            format_html('<text class="vc-axis" x="{}" y="{}">—</text>', BAR_LABEL, BAR_TOP + 16)
        )
    body = mark_safe("".join(parts))  # noqa: S308  (each part escaped by format_html)
    return _svg(title=title, width=width, height=height, kind="bar", body=body)
