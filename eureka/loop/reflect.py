"""Reflection: turn a candidate's training record into text for the next prompt.

Eureka-style: for the task score and each reward component, its values over training with
min/mean/max, plus advice when a component is constant, dominates the total, or the task
score stays near zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eureka.training.base import Checkpoint, EpisodeRecord, FitnessSpec, TrainOutcome

CONSTANT_RELATIVE_SPREAD = 0.02
DOMINANT_SHARE = 0.8


@dataclass(frozen=True)
class SeriesSummary:
    name: str
    values: list[float]

    @property
    def minimum(self) -> float:
        return min(self.values)

    @property
    def maximum(self) -> float:
        return max(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def is_constant(self) -> bool:
        spread = self.maximum - self.minimum
        return spread <= CONSTANT_RELATIVE_SPREAD * max(abs(self.mean), 1e-8) or spread < 1e-8

    def line(self) -> str:
        shown = ", ".join(_fmt(v) for v in self.values)
        return f"{self.name}: [{shown}], Min: {_fmt(self.minimum)}, Mean: {_fmt(self.mean)}, Max: {_fmt(self.maximum)}"


@dataclass(frozen=True)
class Reflection:
    text: str
    checkpoints: int
    advice: list[str] = field(default_factory=list)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def _member_series(checkpoints: list[Checkpoint]) -> tuple[list[float], dict[str, list[float]]]:
    fitness = [c.fitness for c in checkpoints if c.fitness is not None]
    names = list(dict.fromkeys(n for c in checkpoints for n in c.components))
    components = {n: [c.components[n] for c in checkpoints if n in c.components] for n in names}
    return fitness, components


def reflect(outcome: TrainOutcome, fitness_spec: FitnessSpec) -> Reflection:
    """Reflection on the first successful seed of a candidate (the one shown to the LLM)."""
    members = [m for m in outcome.members if m.status == "ok"] or outcome.members
    member = members[0]
    if member.status != "ok":
        text = f"Training failed: {member.error}. Write a reward that stays finite for every state."
        return Reflection(text, 0, ["training failed"])
    fitness_values, components = _member_series(member.checkpoints)
    score_name = {"success_rate": "task_score (success rate)", "episode_length": "task_score (episode length)",
                  "episode_return": "task_score (ground-truth return)"}[fitness_spec.metric]
    lines, advice = [], []
    if fitness_values:
        fitness = SeriesSummary(score_name, fitness_values)
        lines.append(fitness.line())
        if _near_zero(fitness, fitness_spec):
            advice.append("The task score stays near zero: the reward does not lead the policy to the goal; "
                          "rewrite it around progress towards success.")
    lines.append(f"final task_score of the trained policy (deterministic evaluation): {_fmt(member.fitness or math.nan)}")
    summaries = [SeriesSummary(name, values) for name, values in components.items() if values]
    magnitude = sum(abs(s.mean) for s in summaries) or 1.0
    for summary in summaries:
        lines.append(summary.line())
        if summary.is_constant:
            advice.append(f"'{summary.name}' is nearly constant during training: the policy cannot learn from it; "
                          "rescale it, change it, or remove it.")
        elif len(summaries) > 1 and abs(summary.mean) / magnitude > DOMINANT_SHARE:
            advice.append(f"'{summary.name}' dominates the total reward ({abs(summary.mean) / magnitude:.0%} of its "
                          "magnitude): the other terms barely matter; lower its weight or rescale the others.")
    lengths = [c.episode_length for c in member.checkpoints if c.episode_length is not None]
    if lengths:
        lines.append(SeriesSummary("episode_length", lengths).line())
    if member.episodes:
        lines.append("")
        lines.append(analyse_episodes(member.episodes, fitness_spec))
    text = "\n".join(lines)
    if advice:
        text += "\n\nObservations:\n" + "\n".join(f"- {a}" for a in advice)
    return Reflection(text, len(member.checkpoints), advice)


def _near_zero(fitness: SeriesSummary, spec: FitnessSpec) -> bool:
    if spec.metric == "success_rate":
        return fitness.maximum < 0.05
    return abs(fitness.maximum) < 1e-6


def analyse_episodes(episodes: list[EpisodeRecord], spec: FitnessSpec) -> str:
    """What the trained policy did in its evaluation episodes, in terms of the task.

    Episodes are split into good and bad ones by the ground truth: success or not for a
    success-rate task, else the better and worse half by ground-truth return (or length).
    The components' mean per step in each group show which terms the policy earns when
    it fails.
    """
    count = len(episodes)
    by_end = {kind: sum(e.ended_by == kind for e in episodes) for kind in ("termination", "time_limit")}
    lines = [f"Trajectory analysis of {count} evaluation episodes of the trained policy:"]
    if spec.metric == "success_rate":
        good = [e for e in episodes if e.success]
        bad = [e for e in episodes if not e.success]
        lines.append(f"- {len(good)} succeeded, {len(bad)} failed")
        if bad:
            ends = {k: sum(e.ended_by == k for e in bad) for k in by_end}
            lines.append(f"- failures ended by: termination {ends['termination']}, "
                         f"time limit {ends['time_limit']}")
        labels = ("successful", "failed")
    else:
        key = (lambda e: e.length) if spec.metric == "episode_length" else (lambda e: e.env_return)
        ranked = sorted(episodes, key=key, reverse=spec.direction == "maximize")
        half = max(1, count // 2)
        good, bad = ranked[:half], ranked[half:]
        values = [key(e) for e in episodes]
        lines.append(f"- ground-truth score per episode: min {_fmt(min(values))}, "
                     f"mean {_fmt(sum(values) / count)}, max {_fmt(max(values))}")
        lines.append(f"- episodes ended by: termination {by_end['termination']}, time limit {by_end['time_limit']}")
        labels = ("better half", "worse half")
    lines.append(f"- mean episode length: {_fmt(sum(e.length for e in episodes) / count)} steps")
    names = list(dict.fromkeys(n for e in episodes for n in e.components))
    if good and bad and names:
        lines.append(f"- components (mean per step) in {labels[0]} vs {labels[1]} episodes:")
        for name in names:
            g = sum(e.components.get(name, 0.0) for e in good) / len(good)
            b = sum(e.components.get(name, 0.0) for e in bad) / len(bad)
            marker = "  <- pays more in the worse episodes" if b > g + 1e-9 else ""
            lines.append(f"    {name}: {_fmt(g)} vs {_fmt(b)}{marker}")
    return "\n".join(lines)
