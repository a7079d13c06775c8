"""Line charts as plain data for inline SVG (the template draws them; autoescape covers labels)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    color: str = PALETTE[0]
    line: bool = True  # False: markers only


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    title: str
    width: int
    height: int
    left: int = 46
    right: int = 0
    top: int = 24
    bottom: int = 0
    series: list[dict] = field(default_factory=list)  # label, color, polyline, markers
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_label: str = ""

    @property
    def empty(self) -> bool:
        return not any(s["markers"] for s in self.series)


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high - low < 1e-12:
        return [low]
    step = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(step))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step), default=step)
    start = math.ceil(low / step) * step
    return [start + i * step for i in range(int((high - start) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    if value == int(value) and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.3g}"


def line_chart(title: str, series: Sequence[Series], x_label: str = "", width: int = 380,
               height: int = 190, integer_x: bool = False) -> Chart:
    chart = Chart(title, width, height, right=width - 12, bottom=height - 34, x_label=x_label)
    finite = [(x, y) for s in series for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        chart.series = [{"label": s.label, "color": s.color, "polyline": "", "markers": []} for s in series]
        return chart
    xs, ys = [p[0] for p in finite], [p[1] for p in finite]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_high - y_low < 1e-9:
        y_low, y_high = y_low - max(abs(y_low) * 0.1, 0.5), y_high + max(abs(y_high) * 0.1, 0.5)
    pad = (y_high - y_low) * 0.06
    y_low, y_high = y_low - pad, y_high + pad

    def px(x: float) -> float:
        return round(chart.left + (x - x_low) / (x_high - x_low) * (chart.right - chart.left), 1)

    def py(y: float) -> float:
        return round(chart.bottom - (y - y_low) / (y_high - y_low) * (chart.bottom - chart.top), 1)

    for s in series:
        points = [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
        chart.series.append({
            "label": s.label, "color": s.color,
            "polyline": " ".join(f"{px(x)},{py(y)}" for x, y in points) if s.line and len(points) > 1 else "",
            "markers": [{"x": px(x), "y": py(y), "title": f"{s.label}: {_label(y)} at {_label(x)}"}
                        for x, y in points],
        })
    x_values = sorted(set(xs)) if integer_x and len(set(xs)) <= 12 else _ticks(x_low, x_high)
    chart.x_ticks = [Tick(px(x), str(int(x)) if integer_x else _label(x)) for x in x_values]
    chart.y_ticks = [Tick(py(y), _label(y)) for y in _ticks(y_low, y_high)]
    return chart
