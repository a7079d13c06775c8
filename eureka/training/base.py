"""The training contract shared by every backend.

A trainer receives candidate rewards (files) and a `TrainSpec`, trains one policy per
(candidate, seed) with the candidate's reward replacing the env's, and returns a
`TrainOutcome` per candidate. Fitness always comes from the task's ground truth (the env's
own reward, success condition or episode length), never from the candidate's reward.
Component statistics and fitness are recorded at about `checkpoints` points in training,
in the same shape for every backend, so reflection does not care which backend ran.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eureka.task import FitnessMetric, FitnessSpec  # noqa: F401  (re-exported)
from eureka.executor.records import JobRecord

# FitnessSpec is part of the task file; imported here for the modules that read it from training.
class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int
    fitness: float | None  # ground truth over episodes finished since the last checkpoint
    reward_mean: float | None  # mean per-step candidate reward
    components: dict[str, float] = Field(default_factory=dict)  # mean per step of each component
    episode_length: float | None = None


class EpisodeMotion(BaseModel):
    """How the observation moved in one evaluation episode (observations of up to 64 columns):
    where it started and ended, the path length and the share of steps that reversed direction,
    per column. The reflection names from it what a policy did (moved little, oscillated)."""

    model_config = ConfigDict(extra="forbid")

    first: list[float]
    last: list[float]
    path: list[float]  # sum over steps of |change|
    reversals: list[float]  # share of steps whose change has the opposite sign of the previous change

    @classmethod
    def of(cls, observations: list) -> "EpisodeMotion | None":
        import numpy as np

        try:
            array = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        except (TypeError, ValueError):  # observations that are not arrays of numbers
            return None
        if array.shape[0] < 2 or array.shape[1] > 64 or not np.all(np.isfinite(array)):
            return None
        change = np.diff(array, axis=0)
        signs = np.sign(change)
        flips = (signs[1:] * signs[:-1] < 0).mean(axis=0) if len(change) > 1 else np.zeros(array.shape[1])
        return cls(first=array[0].tolist(), last=array[-1].tolist(), path=np.abs(change).sum(axis=0).tolist(),
                   reversals=flips.tolist())


class EpisodeRecord(BaseModel):
    """One evaluation episode of a trained policy, for the trajectory analysis."""

    model_config = ConfigDict(extra="forbid")

    success: bool
    length: int
    ended_by: Literal["termination", "time_limit"]
    env_return: float
    components: dict[str, float] = Field(default_factory=dict)  # mean per step over the episode
    motion: EpisodeMotion | None = None


class MemberResult(BaseModel):
    """One (candidate, seed) training run."""

    model_config = ConfigDict(extra="forbid")

    seed: int
    status: Literal["ok", "failed"]
    error: str | None = None
    fitness: float | None = None  # final ground-truth fitness (deterministic evaluation)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    episodes: list[EpisodeRecord] = Field(default_factory=list)  # deterministic evaluation episodes
    train_seconds: float = 0.0
    env_steps: int = 0


class TrainOutcome(BaseModel):
    """All seeds of one candidate."""

    model_config = ConfigDict(extra="forbid")

    candidate_id: str
    members: list[MemberResult]
    jobs: list[JobRecord] = Field(default_factory=list)  # set by the host: where it trained (eureka.executor)

    @property
    def fitness(self) -> float | None:
        """Mean final fitness over seeds that finished; None if none did."""
        values = [m.fitness for m in self.members if m.status == "ok" and m.fitness is not None]
        values = [v for v in values if math.isfinite(v)]
        return sum(values) / len(values) if values else None

    @property
    def ok(self) -> bool:
        return self.fitness is not None


class TrainCandidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    reward_file: str  # relative to the job's scratch dir


class TrainJobSpec(BaseModel):
    """`job.json` of an `eureka.jobs.train` job."""

    model_config = ConfigDict(extra="forbid")

    task: dict  # TaskSpec.model_dump(mode="json")
    candidates: list[TrainCandidate]


class TrainJobResult(BaseModel):
    """`result.json` of an `eureka.jobs.train` job."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[TrainOutcome]


PROGRESS_FILE = "progress.json"  # a job may rewrite {"step": int, "total": int} as it trains
