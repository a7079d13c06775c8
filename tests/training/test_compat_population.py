"""The JAX population trainer on a brax and a Craftax env: a K=2 population (a sensible
reward and one that goes NaN) trains in one program, for a tiny budget."""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import pytest

from eureka.reward import load_reward
from eureka.task import TaskSpec, load_task
from eureka.training.jax_population import train_population

from tests.helpers import require

require("brax", "brax (the envs extra)")
require("craftax", "craftax (the envs extra)")

ROOT = Path(__file__).resolve().parents[2]
TRAINING_TIMEOUT = pytest.mark.timeout(300, method="thread")
TINY_PPO = {"num_steps": 16, "num_epochs": 1, "num_minibatches": 2, "hidden_layer_sizes": [32, 32]}


def nan_when_moving_right(obs, action, next_obs, terminated):
    """Ant: NaN on any step whose torso moves forward (a random policy does within steps)."""
    reward = jnp.where(next_obs[:, 13] > 0.0, jnp.nan, 1.0)
    return reward, {"reward": reward}


def nan_when_not_facing_left(obs, action, next_obs, terminated):
    """Craftax: NaN once the player faces anything but left (a random policy soon does)."""
    reward = jnp.where(next_obs[:, 1339] < 0.5, jnp.nan, 1.0)
    return reward, {"reward": reward}


def tiny(task_file: str, max_episode_steps: int, timesteps: int) -> TaskSpec:
    """The shipped task, shrunk to a CPU test: few envs, short episodes, a few PPO iterations."""
    data = load_task(ROOT / task_file).model_dump(mode="json")
    data["env"]["max_episode_steps"] = max_episode_steps
    data["fitness"]["eval_episodes"] = 2
    data["training"].update(timesteps=timesteps, num_envs=4, seeds=[0], checkpoints=2,
                            hyperparams=TINY_PPO)
    return TaskSpec.model_validate(data)


def check_population(task: TaskSpec, nan_reward) -> None:
    human = load_reward(ROOT / "tasks" / task.baselines.human)
    sensible, nan = train_population(task, [("human", human), ("nan", nan_reward)])

    [member] = sensible.members
    assert member.status == "ok" and member.error is None
    assert member.fitness is not None and math.isfinite(member.fitness)
    assert len(member.checkpoints) == 2
    assert member.checkpoints[-1].components and all(
        math.isfinite(v) for c in member.checkpoints for v in c.components.values())
    [failed] = nan.members
    assert failed.status == "failed" and "reward became non-finite" in failed.error
    assert failed.fitness is None


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_a_brax_ant_population_trains_and_isolates_a_nan_reward():
    task = tiny("tasks/ant.yaml", max_episode_steps=32, timesteps=2 * 4 * 16)
    check_population(task, nan_when_moving_right)


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_a_craftax_population_trains_and_isolates_a_nan_reward():
    task = tiny("tasks/craftax_classic.yaml", max_episode_steps=48, timesteps=2 * 4 * 16)
    check_population(task, nan_when_not_facing_left)
