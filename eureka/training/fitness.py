"""Ground-truth episode bookkeeping shared by the trainers (numpy side)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eureka.safe_expr import compile_expression
from eureka.training.base import FitnessSpec


def success_flags(spec: FitnessSpec, obs, next_obs, terminated, truncated, env_reward, xp=np):
    """The task's success expression on a batch of transitions, with numpy or jax.numpy (`xp`).

    The expression is never run as Python: `eureka.safe_expr` evaluates an allowlist of array
    operations (checked when the task was loaded; compiled once and cached)."""
    if not spec.success:
        return xp.zeros_like(terminated, dtype=bool)
    scope = {"obs": obs, "next_obs": next_obs, "terminated": terminated, "truncated": truncated,
             "env_reward": env_reward}
    return xp.asarray(compile_expression(spec.success)(scope, xp), dtype=bool)


@dataclass
class EpisodeLedger:
    """Per-env running episode sums; finished episodes are scored by the ground truth."""

    spec: FitnessSpec
    num_envs: int
    returns: np.ndarray = field(init=False)
    lengths: np.ndarray = field(init=False)
    finished_scores: list[float] = field(default_factory=list)
    finished_lengths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.returns = np.zeros(self.num_envs)
        self.lengths = np.zeros(self.num_envs, dtype=int)

    def step(self, env_reward: np.ndarray, done: np.ndarray, success: np.ndarray) -> None:
        self.returns += env_reward
        self.lengths += 1
        for i in np.flatnonzero(done):
            self.finished_scores.append(self.score(self.returns[i], self.lengths[i], bool(success[i])))
            self.finished_lengths.append(int(self.lengths[i]))
            self.returns[i] = 0.0
            self.lengths[i] = 0

    def score(self, episode_return: float, length: int, success: bool) -> float:
        if self.spec.metric == "success_rate":
            return float(success)
        if self.spec.metric == "episode_length":
            return float(length)
        return float(episode_return)

    def drain(self) -> tuple[float | None, float | None]:
        """Mean fitness and length of the episodes finished since the last drain."""
        if not self.finished_scores:
            return None, None
        fitness = float(np.mean(self.finished_scores))
        length = float(np.mean(self.finished_lengths))
        self.finished_scores.clear()
        self.finished_lengths.clear()
        return fitness, length
