"""The one chart module: data laid out in pixels inside the plot, round ticks, and the SVG macro."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from eureka.views.charts import PALETTE, SeriesData, line_chart, nice_ticks, tick_label
from eureka.views.templating import html_environment


def test_line_chart_maps_data_inside_the_plot() -> None:
    chart = line_chart("t", [SeriesData("a", [(0, -3.0), (5, 7.5), (10, 2.0)])], width=300, height=200)
    xs = [float(p.split(",")[0]) for p in chart.series[0].points.split()]
    ys = [float(p.split(",")[1]) for p in chart.series[0].points.split()]
    assert all(chart.left <= x <= chart.right for x in xs) and xs == sorted(xs)
    assert all(chart.top <= y <= chart.bottom for y in ys)
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher up
    ticks = [float(t.label) for t in chart.y_ticks]
    assert ticks[0] <= -3.0 and ticks[-1] >= 7.5 and ticks == sorted(ticks)
    assert (chart.width, chart.height, chart.series[0].color) == (300, 200, PALETTE[0])


def test_nice_ticks_and_labels() -> None:
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(5, 5)[0] < 5 < nice_ticks(5, 5)[-1]  # a flat series still gets an axis
    assert nice_ticks(0, math.inf) == []
    assert [tick_label(v) for v in (0, 3.0, 0.5, 123456.0, 0.0001)] == ["0", "3", "0.5", "123456", "0.0001"]


def test_empty_and_non_finite_data() -> None:
    assert line_chart("empty", [SeriesData("a", [])]).empty
    only_nan = line_chart("nan", [SeriesData("a", [(0, math.nan), (1, math.inf)])])
    assert only_nan.empty
    one = line_chart("one", [SeriesData("a", [(0, math.nan), (1, 2.0)])])
    assert not one.empty and one.series[0].points == "" and len(one.series[0].markers) == 1


def test_markers_titles_dashes_and_integer_axis() -> None:
    chart = line_chart("f", [SeriesData("c", [(0, 1.0), (1, 2.0)], line=False, titles=["i0-c0: 1", "i1-c0: 2"]),
                             SeriesData("target", [(0, 3.0), (1, 3.0)], dashed=True, color="#123456")],
                       integer_x=True)
    markers, target = chart.series
    assert markers.points == "" and [m.title for m in markers.markers] == ["i0-c0: 1", "i1-c0: 2"]
    assert target.dashed and target.color == "#123456" and target.points
    assert [t.label for t in chart.x_ticks] == ["0", "1"]


def test_the_macro_draws_well_formed_escaped_svg() -> None:
    chart = line_chart('<b>"x"</b>', [SeriesData("a<", [(0, 1.0), (1, 2.0)]), SeriesData("b", [(0, 2.0)])],
                       x_label="steps", y_label="score")
    template = html_environment().from_string('{% from "chart.html.j2" import chart %}{{ chart(c) }}')
    html = template.render(c=chart)
    assert "<b>" not in html and "&lt;b&gt;&#34;x&#34;&lt;/b&gt;" in html
    svg = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    assert root.get("aria-label") == '<b>"x"</b>'
    assert html.count("<polyline") == 1 and html.count("<circle") == 3
    assert 'class="legend"' in html and "style=" not in html  # the web pages' CSP forbids inline styles
    empty = template.render(c=line_chart("nothing", [SeriesData("a", [])]))
    assert "no data" in empty and "<svg" not in empty
