"""What a tracker logs, read from a run directory's records: each candidate's training curves
and the run's best per generation. Both trackers log exactly these, so a test can compare what
a tracker shows with the records it came from.

Series of a candidate (values at the env steps of its training checkpoints, the mean over its
seeds at each step; failed seeds count only when no seed finished):

    fitness                   ground truth over the episodes finished since the last checkpoint
    reward_mean               mean per-step reward of the candidate's own reward
    episode_length            mean length of those episodes
    components/<name>         mean per step of each reward component
    fitness_per_seed/seed_<k> fitness of each seed alone (candidates trained on more than one seed)
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eureka.rundir.reader import CandidateInfo, RunInfo, finite_number, read_record
from eureka.rundir.records import IterationSummary, Metrics
from eureka.rundir.store import RunStoreError
from eureka.training.base import MemberResult, TrainOutcome

Points = list[tuple[int, float]]  # (env step, value), by step


@dataclass(frozen=True)
class CandidateCurves:
    """One trained candidate (or baseline) as the trackers show it."""

    id: str
    generation: int
    parent_id: str | None
    designer: str  # llm, edit (eureka's structural edit), person, or baseline
    island: int
    status: str  # trained | failed
    fitness: float | None  # final ground-truth fitness (deterministic evaluation), mean over seeds
    final_step: int  # env steps of training: the step `fitness` is logged at
    seeds: list[int]
    series: dict[str, Points] = field(default_factory=dict)
    edit: str | None = None


@dataclass(frozen=True)
class GenerationPoint:
    """One finished generation: its best, and the best so far (by the task's direction)."""

    iteration: int
    candidates: int
    accepted: int
    best_candidate: str | None
    best_fitness: float | None
    best_so_far: float | None


def tag(name: str) -> str:
    """A series name both TensorBoard and MLflow take (a component's name comes from its reward)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100].lstrip(".") or "_"


def outcome_series(outcome: TrainOutcome) -> dict[str, Points]:
    members = [m for m in outcome.members if m.status == "ok"] or outcome.members
    values: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for member in members:
        for checkpoint in member.checkpoints:
            found = {"fitness": checkpoint.fitness, "reward_mean": checkpoint.reward_mean,
                     "episode_length": checkpoint.episode_length}
            found.update({f"components/{tag(name)}": value for name, value in checkpoint.components.items()})
            if len(outcome.members) > 1:
                found[f"fitness_per_seed/seed_{member.seed}"] = checkpoint.fitness
            for name, value in found.items():
                number = finite_number(value)
                if number is not None:
                    values[name][checkpoint.step].append(number)
    return {name: [(step, sum(v) / len(v)) for step, v in sorted(by_step.items())]
            for name, by_step in sorted(values.items())}


def final_step(members: list[MemberResult]) -> int:
    steps = [m.env_steps for m in members] + [c.step for m in members for c in m.checkpoints]
    return max(steps, default=0)


def candidate_curves(run: RunInfo, candidate: CandidateInfo) -> CandidateCurves:
    """The curves of a trained or failed candidate. Raises RunStoreError when its metrics.json
    is missing or not a metrics record."""
    path = candidate.path / "metrics.json"
    try:
        outcome = Metrics.model_validate(read_record(path)).outcome
    except ValueError as exc:
        raise RunStoreError(f"{path}: not a metrics record ({exc})") from None
    designer = "person" if candidate.human else "edit" if candidate.edit else "llm"
    return _curves(candidate.id, candidate.iteration, candidate.parent_id, designer, candidate.island,
                   candidate.status, outcome, edit=candidate.edit)


def baseline_curves(run_dir: Path) -> list[CandidateCurves]:
    """The baselines trained in the run (baselines/<name>.json), as candidates of generation 0."""
    found = []
    for path in sorted((run_dir / "baselines").glob("*.json")):
        try:
            outcome = TrainOutcome.model_validate(read_record(path))
        except ValueError as exc:
            raise RunStoreError(f"{path}: not a training outcome ({exc})") from None
        found.append(_curves(f"baseline-{path.stem}", 0, None, "baseline", 0,
                             "trained" if outcome.ok else "failed", outcome))
    return found


def _curves(candidate_id: str, generation: int, parent: str | None, designer: str, island: int, status: str,
            outcome: TrainOutcome, edit: str | None = None) -> CandidateCurves:
    return CandidateCurves(id=candidate_id, generation=generation, parent_id=parent, designer=designer,
                           island=island, status=status, fitness=finite_number(outcome.fitness),
                           final_step=final_step(outcome.members), seeds=[m.seed for m in outcome.members],
                           series=outcome_series(outcome), edit=edit)


def generation_points(summaries: list[IterationSummary], direction: str) -> list[GenerationPoint]:
    """Each finished generation's best, and the best so far, in order of generation."""
    sign = -1.0 if direction == "minimize" else 1.0
    points, best = [], None
    for summary in sorted(summaries, key=lambda s: s.iteration):
        value = finite_number(summary.best_fitness)
        if value is not None and (best is None or sign * value > sign * best):
            best = value
        points.append(GenerationPoint(iteration=summary.iteration, candidates=summary.candidates,
                                      accepted=summary.accepted, best_candidate=summary.best_candidate,
                                      best_fitness=value, best_so_far=best))
    return points


def finished_summaries(run: RunInfo) -> list[IterationSummary]:
    """run.json's finished generations (skipping a malformed row)."""
    found = []
    for row in run.iterations:
        try:
            found.append(IterationSummary.model_validate(row))
        except ValueError:
            continue
    return found
