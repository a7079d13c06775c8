"""The shipped task suite: every task file loads and belongs to a suite, and every CPU task's
human reward trains a little and gets a fitness (CI's smoke test of the suite)."""

from __future__ import annotations

import math
import tomllib

import pytest

from eureka.reward import load_reward
from eureka.task import load_task
from tests.helpers import ROOT

TASKS = ROOT / "tasks"
SUITES = tomllib.loads((TASKS / "suites.toml").read_text())


def test_every_task_file_is_in_a_suite_and_has_both_baselines():
    names = {path.stem for path in TASKS.glob("*.yaml")}
    listed = [name for suite in SUITES.values() for name in suite]
    assert sorted(listed) == sorted(names), "tasks/suites.toml lists each task file once"
    for name in names:
        task = load_task(TASKS / f"{name}.yaml")
        assert task.baselines.human and task.baselines.sparse, name


@pytest.mark.slow
@pytest.mark.timeout(600, method="thread")
@pytest.mark.parametrize("name", SUITES["cpu"])
def test_cpu_task_trains_its_human_reward(name):
    task = load_task(TASKS / f"{name}.yaml")
    task.training.seeds = [0]
    task.training.checkpoints = 1
    task.fitness.target = None
    task.fitness.eval_episodes = 2
    reward = load_reward(task.resolve(task.baselines.human))
    if task.env.backend == "jax":
        from eureka.training.jax_population import ppo_settings, train_population

        settings = ppo_settings(task.env.id, task.training.hyperparams)
        task.training.timesteps = 2 * task.training.num_envs * settings.num_steps  # two PPO iterations
        (outcome,) = train_population(task, [("human", reward)])
        (member,) = outcome.members
    else:
        from eureka.training.sb3_trainer import train_member

        task.training.timesteps = 2 * task.training.num_envs * task.training.hyperparams.get("n_steps", 128)
        member = train_member(task, reward, seed=0)
    assert member.status == "ok", member.error
    assert member.fitness is not None and math.isfinite(member.fitness)
    assert member.env_steps >= task.training.timesteps
    if task.fitness.metric == "success_rate":
        assert 0.0 <= member.fitness <= 1.0
