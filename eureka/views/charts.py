"""Line charts as plain data for inline SVG: the one chart module of the report and the web pages.

`line_chart` lays series out in pixels; the jinja2 macro ``templates/chart.html.j2`` draws
the SVG (autoescape on, so labels and titles from run files stay text).

Example::

    chart = line_chart("fitness", [SeriesData("best", [(0, 1.0), (1, 3.5)])], "iteration", "fitness")
    chart.series[0].points  # "64.0,236.0 ..." for <polyline>
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    points: str  # "x,y x,y ..." in pixels, for <polyline>; empty for markers only
    markers: tuple[Marker, ...] = ()
    dashed: bool = False


@dataclass(frozen=True)
class Tick:
    position: float  # pixels
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    left: int
    top: int
    right: int  # pixel x of the plot's right edge
    bottom: int  # pixel y of the plot's bottom edge
    x_label: str
    y_label: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        return not any(s.points or s.markers for s in self.series)


@dataclass(frozen=True)
class SeriesData:
    """A series in data coordinates: a line through `points`, or markers only."""

    label: str
    points: Sequence[tuple[float, float]]
    line: bool = True
    titles: Sequence[str] = ()  # one per point, shown on hover (markers)
    dashed: bool = False
    color: str | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high - low < 1e-12:
        low, high = low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.5 and len(ticks) < 50:
        ticks.append(round(value, 10))
        value += step
    return ticks


def tick_label(value: float) -> str:
    """A short label for a number: integers as such, others with 2 to 4 significant digits."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    return f"{value:.4g}"


def line_chart(title: str, data: Sequence[SeriesData], x_label: str = "", y_label: str = "",
               width: int = 640, height: int = 280, integer_x: bool = False) -> Chart:
    """Lay out series on shared axes; coordinates are pixels of a width x height SVG."""
    left, top, right_margin, bottom_margin = 64, 28, 16, 44
    right, bottom = width - right_margin, height - bottom_margin
    finite = [(x, y) for s in data for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return Chart(title, width, height, left, top, right, bottom, x_label, y_label, (), (), ())
    xs, ys = [p[0] for p in finite], [p[1] for p in finite]
    x_values = nice_ticks(min(xs), max(xs))
    if integer_x:
        x_values = sorted({float(round(v)) for v in x_values if abs(v - round(v)) < 1e-9}) or [min(xs)]
        if len(x_values) > 12:
            x_values = x_values[:: math.ceil(len(x_values) / 12)]
    y_values = nice_ticks(min(ys), max(ys))
    x_low, x_high = min(x_values + xs), max(x_values + xs)
    y_low, y_high = min(y_values + ys), max(y_values + ys)
    if x_high - x_low < 1e-12:
        x_low, x_high = x_low - 1, x_high + 1
    pad = 0.3 if integer_x else 0.03 * (x_high - x_low)  # markers at the ends stay off the axes
    x_low, x_high = x_low - pad, x_high + pad
    if y_high - y_low < 1e-12:
        y_low, y_high = y_low - 1, y_high + 1

    def px(x: float) -> float:
        return round(left + (x - x_low) / (x_high - x_low) * (right - left), 1)

    def py(y: float) -> float:
        return round(bottom - (y - y_low) / (y_high - y_low) * (bottom - top), 1)

    series = []
    for i, s in enumerate(data):
        points = [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
        color = s.color or PALETTE[i % len(PALETTE)]
        titles = list(s.titles) + [""] * len(points)
        markers = tuple(Marker(px(x), py(y), titles[j] or f"{tick_label(x)}: {tick_label(y)}")
                        for j, (x, y) in enumerate(points))
        polyline = " ".join(f"{px(x)},{py(y)}" for x, y in points) if s.line and len(points) > 1 else ""
        series.append(Series(s.label, color, polyline, markers, s.dashed))
    x_ticks = tuple(Tick(px(v), tick_label(v)) for v in x_values if x_low <= v <= x_high)
    y_ticks = tuple(Tick(py(v), tick_label(v)) for v in y_values if y_low <= v <= y_high)
    return Chart(title, width, height, left, top, right, bottom, x_label, y_label, x_ticks, y_ticks, tuple(series))
