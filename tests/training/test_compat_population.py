"""The JAX population trainer on a brax and a Craftax env: a K=2 population (a sensible
reward and one that goes NaN) trains in one program, for a tiny budget; Craftax worlds are
drawn ahead of the episodes that use them."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eureka.envs import compat
from eureka.envs.gymnax_backend import make_env
from eureka.reward import load_reward
from eureka.task import TaskSpec, load_task
from eureka.training.jax_eval import make_success_fn
from eureka.training.jax_population import CandidateRewardEnv, make_branch, train_population

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


@TRAINING_TIMEOUT
def test_craftax_next_episodes_start_in_distinct_fresh_worlds():
    """Craftax resets are drawn ahead (`costly_reset`): one new world per env per PPO
    iteration, never a world per step; every env gets its own, and a redraw replaces them."""
    task = load_task(ROOT / "tasks" / "craftax_pickaxe.yaml")
    assert compat.costly_reset(task.env)
    env, base_params = make_env(task.env)
    sparse = load_reward(task.resolve(task.baselines.sparse))
    wrapper = CandidateRewardEnv(env, [make_branch(sparse, ("pickaxe",), 1)], 1,
                                 make_success_fn(task.fitness), costly_reset=True)
    params = wrapper.default_params_for(base_params)
    envs = 4
    reset = jax.jit(jax.vmap(wrapper.reset_env, in_axes=(0, None)))
    _, state = reset(jax.random.split(jax.random.PRNGKey(0), envs), params)
    redrawn = jax.jit(wrapper.redraw_resets)(jax.random.PRNGKey(1), state, params)
    worlds = [np.asarray(state.env_state.map), np.asarray(state.next_start[1].map),
              np.asarray(redrawn.next_start[1].map)]
    maps = np.concatenate(worlds).reshape(3 * envs, -1)
    assert len({m.tobytes() for m in maps}) == 3 * envs  # current, next and redrawn: all distinct
