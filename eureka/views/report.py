"""A static, offline HTML report of a run.

One file, no scripts and nothing fetched from the network: the best reward's code, a chart
of fitness per iteration, the best candidate's training curves (task score and each reward
component), every candidate with its status, fitness and critic problems, and the
reflections. Charts are inline SVG (`eureka.views.charts`); the page comes from the jinja2 template
``eureka/views/templates/report.html.j2`` with autoescape on, so code, problems and reflections
(model output) are shown as text, never interpreted as HTML.

Example::

    path = write_report(Path("runs/20250101-120000-cartpole-ab12"))
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eureka.rundir.reader import RunInfo, read_run
from eureka.rundir.store import atomic_write_text
from eureka.views.candidates import CandidateView, load_candidates
from eureka.views.charts import PALETTE, Chart, SeriesData, line_chart
from eureka.views.templating import html_environment

REPORT_TEMPLATE = "report.html.j2"


def training_charts(view: CandidateView, score_name: str, width: int = 300, height: int = 180) -> list[Chart]:
    """Task score and each reward component over training (the first successful seed)."""
    if not (view.curve_ok and view.checkpoints):
        return []
    checkpoints = [c for c in view.checkpoints if c.get("step") is not None]
    charts = []
    score = [(float(c["step"]), float(c["fitness"])) for c in checkpoints if c.get("fitness") is not None]
    charts.append(line_chart(f"{score_name} (seed {view.curve_seed})", [SeriesData(score_name, score)],
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
    views = load_candidates(run)
    best_view = next((v for v in views if best is not None and v.id == best.id), None)
    return {
        "run": run,
        "task_env": run.task.get("env") or {},
        "metric": metric,
        "best": best_view,
        "best_charts": training_charts(best_view, metric, width=420, height=220) if best_view else [],
        "fitness_chart": fitness_chart(run),
        "candidates": views,
        "charts": {v.id: training_charts(v, metric) for v in views},
        "children": {v.id: parents.count(v.id) for v in views},
        "mixed": len({c.designer for c in run.candidates if c.designer in ("spec", "code")}) > 1,
        "reflections": [v for v in views if v.reflection],
        "feedback": [f for f in run.raw.get("feedback") or [] if isinstance(f, dict)],
        "generated": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "fmt": lambda value: "-" if value is None else f"{value:.4g}",
    }


def render_report(run: RunInfo, now: datetime | None = None) -> str:
    return html_environment().get_template(REPORT_TEMPLATE).render(**build_context(run, now))


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Render the report of `run_dir` to `out` (default ``<run_dir>/report.html``), atomically.

    Raises RunStoreError if the run directory cannot be read.
    """
    run = read_run(Path(run_dir))
    out = Path(out) if out else run.directory / "report.html"
    atomic_write_text(out, render_report(run))
    return out
