"""core/charts.py: line and bar charts drawn as SVG on the server."""

from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import translation

from core.charts import Bar, Line, bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))  # noqa: S314  (our own markup: well-formed, or this raises)


def test_a_round_axis_reaches_the_peak():
    assert nice_ceiling(0) == (4.0, 1.0)
    assert nice_ceiling(7) == (8.0, 2.0)
    assert nice_ceiling(100) == (100.0, 25.0)
    assert nice_ceiling(1234) == (2000.0, 500.0)
    top, step = nice_ceiling(0.3)
    assert top >= 0.3 and step == top / 4


def test_a_line_chart_has_a_title_axes_a_legend_and_a_point_per_day():
    values = [0] * 29 + [1200]
    with translation.override("it"):
        svg = line_chart(
            title="Punti al giorno",
            days=DAYS,
            lines=[Line("emessi", values), Line("riscattati", [5] * 30)],
        )
    root = parsed(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Punti al giorno"
    assert root.find(f"{SVG}title").text == "Punti al giorno"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "emessi" in texts and "riscattati" in texts  # the legend
    assert texts[2:7] == ["0", "500", "1.000", "1.500", "2.000"]  # the value axis, in Italian
    assert "30 Nov" in texts and "23 Nov" in texts  # a date every week, the last day's first
    assert len(root.findall(f"{SVG}polyline")) == 2
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 60
    assert dots[29].find(f"{SVG}title").text == "Lun 30 Nov · emessi: 1.200"


def test_a_line_chart_of_zeros_still_draws_its_axis():
    root = parsed(line_chart(title="Vuoto", days=DAYS, lines=[Line("a", [0] * 30)]))
    assert [t.text for t in root.iter(f"{SVG}text")][1:6] == ["0", "1", "2", "3", "4"]


def test_every_text_is_escaped():
    svg = line_chart(
        title='<script>alert("x")</script>', days=DAYS[:2], lines=[Line("a&b<", [1, 2])]
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b&lt;" in svg
    parsed(svg)
    bars = bar_chart(title="t", bars=[Bar('"><x', 3, 'javascript:"x')])
    assert '"><x' not in bars and "&quot;&gt;&lt;x" in bars
    parsed(bars)


def test_a_line_needs_a_value_per_day():
    with pytest.raises(ValueError):
        line_chart(title="t", days=DAYS, lines=[Line("a", [1, 2])])


def test_a_bar_chart_draws_a_bar_per_row_longest_for_the_largest_with_links():
    root = parsed(
        bar_chart(
            title="Punti per negozio",
            bars=[Bar("PV-MI-01", 300, "/admin/x/?shop__id__exact=1"), Bar("PV-RM-01", 150)],
        )
    )
    assert root.get("aria-label") == "Punti per negozio"
    rects = root.findall(f".//{SVG}rect")
    assert float(rects[0].get("width")) == pytest.approx(2 * float(rects[1].get("width")))
    links = root.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == ["/admin/x/?shop__id__exact=1"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["PV-MI-01", "300", "PV-RM-01", "150"]


def test_an_empty_bar_chart_says_so():
    root = parsed(bar_chart(title="t", bars=[]))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["—"]
