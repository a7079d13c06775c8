"""Reflection: turn a candidate's training record into text for the next prompt.

Eureka-style: for the task score and each reward component, its values over training with
min/mean/max, plus advice when a component is constant, dominates the total, or the task
score stays near zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eureka.training.base import Checkpoint, FitnessSpec, TrainOutcome

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
    text = "\n".join(lines)
    if advice:
        text += "\n\nObservations:\n" + "\n".join(f"- {a}" for a in advice)
    return Reflection(text, len(member.checkpoints), advice)


def _near_zero(fitness: SeriesSummary, spec: FitnessSpec) -> bool:
    if spec.metric == "success_rate":
        return fitness.maximum < 0.05
    return abs(fitness.maximum) < 1e-6
