"""The relational test tasks are learnable: their human reward trains to success where the sparse
reward does not (so a designer's score on them measures something)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eureka.reward import load_reward
from eureka.task import TaskSpec, load_task

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def shrunk(name: str, timesteps: int) -> TaskSpec:
    task = load_task(ROOT / "tests" / "data" / "tasks" / f"{name}.yaml")
    data = task.model_dump(mode="json")
    data["training"].update(timesteps=timesteps, checkpoints=4)
    small = TaskSpec.model_validate(data)
    small._path = task.path
    return small


@pytest.mark.timeout(900, method="thread")
def test_the_point_goal_human_reward_trains_to_success_and_the_sparse_one_does_not():
    from eureka.training.sb3_trainer import train_member

    task = shrunk("point_goal", 40_000)
    results = {which: train_member(task, load_reward(task.resolve(Path(getattr(task.baselines, which)))), 0)
               for which in ("human", "sparse")}
    assert results["human"].status == "ok" and results["human"].fitness >= 0.6
    assert results["sparse"].fitness is not None and results["sparse"].fitness <= 0.3
    # the evaluation episodes record how the point moved (the reflection's "moved little" / "oscillated")
    assert all(e.motion is not None and len(e.motion.first) == 6 for e in results["human"].episodes)


@pytest.mark.timeout(900, method="thread")
def test_the_point_goal_human_reward_trains_on_the_jax_backend_too():
    from eureka.training.jax_population import train_population

    task = shrunk("point_goal_jax", 200_000)
    rewards = [(which, load_reward(task.resolve(Path(getattr(task.baselines, which))))) for which in ("human", "sparse")]
    human, sparse = train_population(task, rewards)
    assert human.fitness is not None and human.fitness >= 0.6
    # measured: with 200k steps the jax PPO also solves it from the sparse reward (1.0), with 100k
    # not (0.3): compare designers on this backend at a budget where the sparse reward falls short
    assert sparse.fitness is not None


@pytest.mark.timeout(900, method="thread")
def test_the_heading_human_reward_beats_the_sparse_one_on_the_jax_backend():
    """The jax relational task that separates them (measured over 3 training seeds: human -42, -13,
    -16; sparse -73, -73, -61, in summed heading error)."""
    from eureka.training.jax_population import train_population

    task = shrunk("heading_jax", 200_000)
    rewards = [(which, load_reward(task.resolve(Path(getattr(task.baselines, which))))) for which in ("human", "sparse")]
    human, sparse = train_population(task, rewards)
    assert human.fitness is not None and sparse.fitness is not None
    assert human.fitness > sparse.fitness + 15
