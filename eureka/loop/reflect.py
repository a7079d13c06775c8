"""Reflection: turn a candidate's training record into text for the next prompt.

Eureka-style: for the task score and each reward component, its values over training with
min/mean/max, plus advice when a component is constant, dominates the total, or the task
score stays near zero. The advice never contradicts the deterministic evaluation (the final
task score): a training-time score from stochastic episodes that stays near zero is reported
as such when the evaluation did succeed. When the evaluation scored near zero, what the policy
did in its evaluation episodes is named (it moved little, oscillated, or moved but ended
elsewhere), so that the next reward changes what it measures rather than its weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eureka.training.base import Checkpoint, EpisodeMotion, EpisodeRecord, FitnessSpec, TrainOutcome

CONSTANT_RELATIVE_SPREAD = 0.02
DOMINANT_SHARE = 0.8
MOVED_LITTLE = 0.15  # net change over an episode, as a share of how much starts differ: "moved little"
OSCILLATION_REVERSALS = 0.3  # share of steps reversing direction ...
OSCILLATION_PATH = 4.0  # ... with a path this many times the net change: "oscillated"
SHOWN_COLUMNS = 4


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
    final = member.fitness if member.fitness is not None and math.isfinite(member.fitness) else None
    evaluation_near_zero = final is None or _value_near_zero(final, fitness_spec)
    if fitness_values:
        fitness = SeriesSummary(score_name, fitness_values)
        lines.append(fitness.line())
        if _near_zero(fitness, fitness_spec) and evaluation_near_zero:
            advice.append("The task score stays near zero: the reward does not lead the policy to the goal; "
                          "rewrite it around progress towards success.")
        elif _near_zero(fitness, fitness_spec):
            advice.append(f"The deterministic evaluation scored {_fmt(final)} although the score of the stochastic "
                          "training episodes stayed near zero: the policy's best actions do the task; keep what "
                          "the reward measures and make it pay more steadily, so that exploring policies do it too.")
    lines.append("final task_score of the trained policy (deterministic evaluation): "
                 + ("none (no evaluation finished)" if final is None else _fmt(final)))
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
        if evaluation_near_zero:
            advice += motion_advice(member.episodes)
    text = "\n".join(lines)
    if advice:
        text += "\n\nObservations:\n" + "\n".join(f"- {a}" for a in advice)
    return Reflection(text, len(member.checkpoints), advice)


def _near_zero(fitness: SeriesSummary, spec: FitnessSpec) -> bool:
    return _value_near_zero(fitness.maximum, spec)


def _value_near_zero(value: float, spec: FitnessSpec) -> bool:
    if spec.metric == "success_rate":
        return value < 0.05
    return abs(value) < 1e-6


@dataclass(frozen=True)
class _Motion:
    """Per column, over the evaluation episodes: mean net change, path, reversals; start spread."""

    net: list[float]
    path: list[float]
    reversals: list[float]
    spread: list[float]

    @classmethod
    def of(cls, motions: list[EpisodeMotion]) -> "_Motion":
        columns = len(motions[0].first)

        def mean(values: list[float]) -> float:
            return sum(values) / len(values)

        def spread(values: list[float]) -> float:
            average = mean(values)
            return math.sqrt(mean([(v - average) ** 2 for v in values]))

        return cls(
            net=[mean([abs(m.last[c] - m.first[c]) for m in motions]) for c in range(columns)],
            path=[mean([m.path[c] for m in motions]) for c in range(columns)],
            reversals=[mean([m.reversals[c] for m in motions]) for c in range(columns)],
            spread=[max(spread([m.first[c] for m in motions]), spread([m.last[c] for m in motions]))
                    for c in range(columns)])


def motion_advice(episodes: list[EpisodeRecord]) -> list[str]:
    """What the policy did, when it did not do the task: moved little, oscillated, or moved and
    ended elsewhere (columns named obs[:, i], as in the task's observation layout)."""
    motions = [e.motion for e in episodes if e.motion is not None]
    if len(motions) < 2 or len({len(m.first) for m in motions}) != 1:
        return []
    motion = _Motion.of(motions)
    varied = [c for c, s in enumerate(motion.spread) if s > 1e-6]
    moving = [c for c in varied if motion.path[c] > 1e-6]
    if not varied:
        return []
    ratios = {c: motion.net[c] / motion.spread[c] for c in varied}
    if max(ratios.values()) < MOVED_LITTLE:
        most = sorted(varied, key=lambda c: -ratios[c])[:SHOWN_COLUMNS]
        changes = ", ".join(f"obs[:, {c}] by {_fmt(motion.net[c])} (starts differ by {_fmt(motion.spread[c])})"
                            for c in most)
        return [f"In the evaluation episodes the policy moved little: over an episode the observation changed "
                f"only {changes}. The reward pays for staying put, or nothing it measures changes when the task "
                "is done: measure something else (for instance a relation between two described quantities, "
                "such as a distance to where the task wants to be), not just other weights."]
    shaky = [c for c in moving if motion.reversals[c] > OSCILLATION_REVERSALS
             and motion.path[c] > OSCILLATION_PATH * max(motion.net[c], 1e-9)]
    if shaky:
        named = ", ".join(f"obs[:, {c}] (reverses on {motion.reversals[c]:.0%} of steps, path "
                          f"{_fmt(motion.path[c])} for a net change of {_fmt(motion.net[c])})"
                          for c in shaky[:SHOWN_COLUMNS])
        return [f"In the evaluation episodes the policy oscillated: {named}. The reward pays for moving back and "
                "forth: pay for progress over the whole episode or for being in the right place, not for each move."]
    moved = sorted(moving, key=lambda c: -ratios.get(c, 0.0))[:SHOWN_COLUMNS]
    ends = ", ".join(f"obs[:, {c}] from {_fmt(sum(m.first[c] for m in motions) / len(motions))} to "
                     f"{_fmt(sum(m.last[c] for m in motions) / len(motions))}" for c in moved)
    return [f"In the evaluation episodes the policy moved ({ends}, on average) but did not end where success is "
            "measured: the reward leads somewhere else; change the quantities it measures (what success "
            "depends on, per the task text), not only their weights."]


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
