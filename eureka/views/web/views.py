"""What the pages show, assembled from a run directory (the files are the source of truth)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eureka.rundir.reader import finite_number, read_feedback, read_run, read_run_file
from eureka.rundir.store import RunStoreError
from eureka.views.candidates import CandidateView, load_candidates, rank_elites
from eureka.views.charts import PALETTE, Chart, SeriesData, line_chart


@dataclass
class RunSummary:
    run_id: str
    task: str
    status: str
    model: str
    iterations: int
    best: str | None
    best_fitness: float | None
    feedback: int
    problem: str | None = None


def list_runs(runs_dir: Path) -> list[RunSummary]:
    out = []
    for path in sorted((p for p in runs_dir.iterdir() if p.is_dir() and (p / "run.json").is_file()),
                       key=lambda p: p.name, reverse=True):
        try:
            run = read_run_file(path)
            best = run.get("best") or {}
            out.append(RunSummary(path.name, str((run.get("task") or {}).get("name", "?")), str(run.get("status")),
                                  str(run.get("model")), len(run.get("iterations") or []), best.get("candidate"),
                                  best.get("fitness"), len(run.get("feedback") or [])))
        except (RunStoreError, AttributeError) as exc:
            out.append(RunSummary(path.name, "?", "unreadable", "?", 0, None, None, 0, problem=str(exc)))
    return out


@dataclass
class DiffLine:
    kind: str  # add, del, hunk, head, same
    text: str


@dataclass
class CandidatePanel:
    view: CandidateView
    diff: list[DiffLine] | None  # None: no parent to compare with
    components_chart: Chart
    score_chart: Chart
    feedback_round: dict[str, Any] | None = None


@dataclass
class RunPage:
    run_id: str
    run: dict[str, Any]
    task: dict[str, Any]
    direction: str
    candidates: list[CandidatePanel]
    elites: list[CandidateView]
    fitness_chart: Chart
    iterations: list[dict[str, Any]]
    roots: list[CandidateView]
    children: dict[str, list[CandidateView]]
    feedback: list[dict[str, Any]]
    round_of_iteration: dict[int, dict[str, Any]] = field(default_factory=dict)


def code_diff(parent: CandidateView, child: CandidateView) -> list[DiffLine]:
    lines = difflib.unified_diff((parent.code or "").splitlines(), (child.code or "").splitlines(),
                                 fromfile=f"{parent.id}/reward.py", tofile=f"{child.id}/reward.py", lineterm="")
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


def _curves(view: CandidateView) -> tuple[Chart, Chart]:
    names = list(dict.fromkeys(n for c in view.checkpoints for n in (c.get("components") or {})))
    components = [SeriesData(name, [(float(c["step"]), value) for c in view.checkpoints
                                    if (value := finite_number((c.get("components") or {}).get(name))) is not None],
                             color=PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
    score = [SeriesData("task score", [(float(c["step"]), value) for c in view.checkpoints
                                       if (value := finite_number(c.get("fitness"))) is not None], color=PALETTE[0])]
    return (line_chart("reward components (mean per step)", components, "training step", width=380, height=190),
            line_chart("task score (ground truth)", score, "training step", width=380, height=190))


def _fitness_chart(candidates: list[CandidateView], iterations: list[dict[str, Any]]) -> Chart:
    points = [(float(c.iteration), float(c.fitness)) for c in candidates if c.trained]
    best = [(float(it["iteration"]), value) for it in iterations
            if (value := finite_number(it.get("best_fitness"))) is not None]
    return line_chart("fitness per iteration", [SeriesData("candidates", points, line=False, color="#9aa7b4"),
                                                SeriesData("best of the iteration", best, color=PALETTE[0])],
                      "iteration", width=520, height=220, integer_x=True)


def run_page(run_dir: Path, shown: int = 4) -> RunPage:
    info = read_run(run_dir)
    run, task, direction = info.raw, info.task, info.direction
    views = load_candidates(info)
    by_id = {v.id: v for v in views}
    records = read_feedback(run_dir)
    round_of_iteration: dict[int, dict[str, Any]] = {}
    for record in records:
        for iteration in [record.get("before_iteration"), *(record.get("iterations") or [])]:
            if isinstance(iteration, int) and record.get("status") in ("running", "finished", "rejected"):
                round_of_iteration.setdefault(iteration, record)
    panels = []
    for view in views:
        parent = by_id.get(view.parent_id or "")
        components, score = _curves(view)
        panels.append(CandidatePanel(view, code_diff(parent, view) if parent and view.code is not None else None,
                                     components, score, round_of_iteration.get(view.iteration)))
    children: dict[str, list[CandidateView]] = {}
    roots = []
    for view in views:
        if view.parent_id in by_id:
            children.setdefault(str(view.parent_id), []).append(view)
        else:
            roots.append(view)
    iterations = list(run.get("iterations") or [])
    return RunPage(run_dir.name, run, task, direction, panels, rank_elites(views, direction, shown),
                   _fitness_chart(views, iterations), iterations, roots, children, records, round_of_iteration)
