"""A candidate as people see it, for every view (terminal refine, report, web pages).

`load_candidates(run)` turns what `eureka.rundir.reader` read into `CandidateView`s: the
record, the code, the critic's attempts, the reflection, one seed's training curve and the
rollout video. `rank_elites` picks the best trained ones to show.

Example::

    run = read_run(run_dir)
    for view in rank_elites(load_candidates(run), run.direction):
        print(view.id, view.fitness_text, view.component_summary(), view.video)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eureka.rundir.reader import CandidateInfo, RunInfo

SHOWN_ELITES = 4


@dataclass
class CandidateView:
    """A candidate's record (`info`) with what its directory holds besides."""

    info: CandidateInfo
    code: str | None
    reflection: str | None
    attempts: list[dict[str, Any]] = field(default_factory=list)  # critic attempts: attempt, stage, problems
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # of one seed (see `first_curve`)
    curve_seed: int | None = None  # the seed of `checkpoints`
    curve_ok: bool = False  # that seed trained successfully
    video: str | None = None  # relative to the run directory
    poster: str | None = None
    video_error: str | None = None
    code_problem: str | None = None  # why reward.py is not shown (not what the run wrote)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def iteration(self) -> int:
        return self.info.iteration

    @property
    def index(self) -> int:
        return self.info.index

    @property
    def parent_id(self) -> str | None:
        return self.info.parent_id

    @property
    def directory(self) -> str:
        return self.info.directory

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def fitness(self) -> float | None:
        return self.info.fitness

    @property
    def components(self) -> list[str]:
        return self.info.components

    @property
    def problems(self) -> list[str]:
        return self.info.problems + ([self.code_problem] if self.code_problem else [])

    @property
    def human(self) -> bool:
        return self.info.human

    @property
    def trained(self) -> bool:
        return self.status == "trained" and self.fitness is not None

    @property
    def fitness_text(self) -> str:
        return "-" if self.fitness is None else f"{self.fitness:.4g}"

    def component_summary(self) -> str:
        """Each component's mean per step at the first and last checkpoint: 'upright 0.82→0.98'."""
        points = [c.get("components") or {} for c in self.checkpoints]
        if not points:
            return ", ".join(self.components)
        first, last = points[0], points[-1]
        return ", ".join(f"{name} {_short(first.get(name))}→{_short(last.get(name))}" for name in last) or "-"


def _short(value: Any) -> str:
    return "?" if not isinstance(value, (int, float)) else f"{value:.3g}"


def first_curve(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The training member whose curve is shown: the first successful seed with checkpoints,
    else the first successful seed, else the first seed (a failed seed's partial curve)."""
    members = [m for m in ((metrics or {}).get("outcome") or {}).get("members") or [] if isinstance(m, dict)]
    ok = [m for m in members if m.get("status") == "ok"]
    with_curve = [m for m in ok if m.get("checkpoints")]
    return (with_curve or ok or members or [None])[0]


def load_candidates(run: RunInfo) -> list[CandidateView]:
    """Every readable candidate of the run, in (iteration, index) order."""
    views = []
    for candidate in run.candidates:
        metrics = run.metrics(candidate) or {}
        critic = run.critic(candidate) or {}
        member = first_curve(metrics)
        code, code_problem = run.checked_code(candidate)
        view = CandidateView(
            info=candidate,
            code=code,
            code_problem=code_problem,
            reflection=metrics.get("reflection"),
            attempts=[a for a in critic.get("attempts") or [] if isinstance(a, dict)],
            checkpoints=[c for c in (member or {}).get("checkpoints") or [] if isinstance(c, dict)],
            curve_seed=(member or {}).get("seed"),
            curve_ok=(member or {}).get("status") == "ok",
        )
        _attach_video(view, run)
        views.append(view)
    return views


def _attach_video(view: CandidateView, run: RunInfo) -> None:
    folder = view.info.path
    for record in run.rollouts(view.info):
        if record.get("ok") and record.get("video") and (folder / str(record["video"])).is_file():
            view.video = f"{view.directory}/{record['video']}"
            if record.get("poster") and (folder / str(record["poster"])).is_file():
                view.poster = f"{view.directory}/{record['poster']}"
            return
        view.video_error = str(record.get("error") or "no video")


def rank_elites(candidates: list[CandidateView], direction: str = "maximize",
                count: int = SHOWN_ELITES) -> list[CandidateView]:
    """The `count` best trained candidates (newer first among equals)."""
    trained = [c for c in candidates if c.trained]
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(trained, key=lambda c: (sign * float(c.fitness or 0.0), -c.iteration, c.index))[:count]
