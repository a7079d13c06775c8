"""A static, offline HTML report of a run.

One file, no scripts and nothing fetched from the network: the best reward's code, a chart
of fitness per iteration, the best candidate's training curves (task score and each reward
component), every candidate with its status, fitness and critic problems, and the
reflections. Charts are inline SVG computed here; the page comes from the jinja2 template
``eureka/views/templates/report.html.j2`` with autoescape on, so code, problems and reflections
(model output) are shown as text, never interpreted as HTML.

Example::

    path = write_report(Path("runs/20250101-120000-cartpole-ab12"))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import jinja2

from eureka.rundir.index import CandidateInfo, RunInfo, read_run
from eureka.rundir.store import atomic_write_text

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_TEMPLATE = "report.html.j2"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


# -- charts -------------------------------------------------------------------------------
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


def _label(value: float) -> str:
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
        markers = tuple(Marker(px(x), py(y), titles[j] or f"{_label(x)}: {_label(y)}")
                        for j, (x, y) in enumerate(points))
        polyline = " ".join(f"{px(x)},{py(y)}" for x, y in points) if s.line and len(points) > 1 else ""
        series.append(Series(s.label, color, polyline, markers, s.dashed))
    x_ticks = tuple(Tick(px(v), _label(v)) for v in x_values if x_low <= v <= x_high)
    y_ticks = tuple(Tick(py(v), _label(v)) for v in y_values if y_low <= v <= y_high)
    return Chart(title, width, height, left, top, right, bottom, x_label, y_label, x_ticks, y_ticks, tuple(series))


# -- the report's content -------------------------------------------------------------------
@dataclass
class CandidateView:
    info: CandidateInfo
    code: str | None
    reflection: str | None
    attempts: list[dict[str, Any]]  # critic attempts: attempt, stage, problems
    charts: list[Chart] = field(default_factory=list)
    is_best: bool = False
    children: int = 0  # candidates that took this one as their parent


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _first_member(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    members = ((metrics or {}).get("outcome") or {}).get("members") or []
    ok = [m for m in members if isinstance(m, dict) and m.get("status") == "ok" and m.get("checkpoints")]
    return ok[0] if ok else None


def training_charts(metrics: dict[str, Any] | None, score_name: str, width: int = 300,
                    height: int = 180) -> list[Chart]:
    """Task score and each reward component over training (the first successful seed)."""
    member = _first_member(metrics)
    if member is None:
        return []
    checkpoints = [c for c in member["checkpoints"] if isinstance(c, dict) and c.get("step") is not None]
    charts = []
    score = [(float(c["step"]), float(c["fitness"])) for c in checkpoints if c.get("fitness") is not None]
    charts.append(line_chart(f"{score_name} (seed {member.get('seed')})", [SeriesData(score_name, score)],
                             "env steps", score_name, width, height))
    names = list(dict.fromkeys(n for c in checkpoints for n in (c.get("components") or {})))
    for i, name in enumerate(names):
        values = [(float(c["step"]), float(c["components"][name])) for c in checkpoints
                  if name in (c.get("components") or {}) and c["components"][name] is not None]
        charts.append(line_chart(f"component: {name}", [SeriesData(name, values, color=PALETTE[(i + 1) % len(PALETTE)])],
                                 "env steps", "mean per step", width, height))
    return charts


def fitness_chart(run: RunInfo) -> Chart:
    """Every trained candidate's fitness by iteration, the best so far, target and baselines."""
    minimize = run.direction == "minimize"
    trained = [c for c in run.candidates if c.fitness is not None]
    data = [SeriesData("candidates", [(float(c.iteration), c.fitness) for c in trained], line=False,
                       titles=[f"{c.id}: {c.fitness:.4g}" for c in trained], color="#9aa5b1")]
    best_so_far: list[tuple[float, float]] = []
    current: float | None = None
    for iteration in sorted({c.iteration for c in trained}):
        values = [c.fitness for c in trained if c.iteration == iteration]
        here = min(values) if minimize else max(values)
        current = here if current is None else (min(current, here) if minimize else max(current, here))
        best_so_far.append((float(iteration), current))
    data.append(SeriesData("best so far", best_so_far, color=PALETTE[0]))
    last = float(max((c.iteration for c in run.candidates), default=0))
    span = (0.0, max(last, 1.0))
    if run.target is not None:
        data.append(SeriesData(f"target {run.target:g}", [(span[0], float(run.target)), (span[1], float(run.target))],
                               dashed=True, color=PALETTE[2]))
    for i, (name, value) in enumerate(sorted(run.baselines.items())):
        if isinstance(value, (int, float)) and math.isfinite(value):
            data.append(SeriesData(f"baseline {name}", [(span[0], float(value)), (span[1], float(value))],
                                   dashed=True, color=PALETTE[3 + i]))
    metric = (run.task.get("fitness") or {}).get("metric", "fitness")
    return line_chart("fitness per iteration", data, "iteration", str(metric), integer_x=True)


def build_context(run: RunInfo, now: datetime | None = None) -> dict[str, Any]:
    best = run.best_candidate()
    metric = str((run.task.get("fitness") or {}).get("metric", "fitness"))
    parents = [c.parent_id for c in run.candidates if c.parent_id]
    views = []
    for candidate in run.candidates:
        metrics = run.metrics(candidate)
        critic = run.critic(candidate) or {}
        code = _read_text(candidate.path / "reward.py")
        views.append(CandidateView(
            info=candidate,
            code=code,
            reflection=(metrics or {}).get("reflection"),
            attempts=[a for a in critic.get("attempts") or [] if isinstance(a, dict)],
            charts=training_charts(metrics, metric),
            is_best=best is not None and candidate.id == best.id,
            children=parents.count(candidate.id),
        ))
    best_view = next((v for v in views if v.is_best), None)
    return {
        "run": run,
        "task_env": run.task.get("env") or {},
        "metric": metric,
        "best": best_view,
        "best_charts": training_charts(run.metrics(best), metric, width=420, height=220) if best else [],
        "fitness_chart": fitness_chart(run),
        "candidates": views,
        "reflections": [v for v in views if v.reflection],
        "feedback": [f for f in run.raw.get("feedback") or [] if isinstance(f, dict)],
        "generated": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "fmt": lambda value: "-" if value is None else f"{value:.4g}",
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # code, problems and reflections are data, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(run: RunInfo, now: datetime | None = None) -> str:
    return _environment().get_template(REPORT_TEMPLATE).render(**build_context(run, now))


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Render the report of `run_dir` to `out` (default ``<run_dir>/report.html``), atomically.

    Raises RunStoreError if the run directory cannot be read.
    """
    run = read_run(Path(run_dir))
    out = Path(out) if out else run.directory / "report.html"
    atomic_write_text(out, render_report(run))
    return out
