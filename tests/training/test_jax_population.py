"""The JAX population trainer: real (tiny) training runs of several rewards in one program."""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import pytest
from pydantic import ValidationError

from eureka.task import TaskSpec
from eureka.training.base import TrainCandidate
from eureka.training.jax_population import (
    Schedule,
    ppo_settings,
    train_population,
    train_population_from_files,
)

# A deadlock or runaway compile must fail the test, not hang the suite: the thread method
# also fires while the main thread waits inside XLA.
TRAINING_TIMEOUT = pytest.mark.timeout(240, method="thread")


def upright(obs, action, next_obs, terminated):
    alive = 1.0 - terminated.astype(jnp.float32)
    centred = -0.1 * jnp.abs(next_obs[:, 0])
    return alive + centred, {"alive": alive, "centred": centred}


def pays_for_falling(obs, action, next_obs, terminated):
    fall = 10.0 * terminated.astype(jnp.float32)
    tilt = jnp.abs(next_obs[:, 2])
    return fall + tilt, {"fall": fall, "tilt": tilt}


def nan_once_tilted(obs, action, next_obs, terminated):
    reward = jnp.where(jnp.abs(next_obs[:, 2]) > 0.1, jnp.nan, 1.0)
    return reward, {"reward": reward}


def never_nan(obs, action, next_obs, terminated):
    """`nan_once_tilted` with a threshold no pole reaches: the same program, no NaN."""
    reward = jnp.where(jnp.abs(next_obs[:, 2]) > 100.0, jnp.nan, 1.0)
    return reward, {"reward": reward}


def python_if(obs, action, next_obs, terminated):
    if next_obs[:, 2].mean() > 0:
        return next_obs[:, 2], {}
    return -next_obs[:, 2], {}


def cartpole_task(timesteps: int, seeds: list[int], checkpoints: int, **training) -> TaskSpec:
    return TaskSpec.model_validate({
        "name": "cartpole",
        "description": "balance the pole",
        "env": {"backend": "jax", "id": "CartPole-v1"},
        "fitness": {"metric": "episode_return", "eval_episodes": 8},
        "training": {"timesteps": timesteps, "num_envs": 8, "seeds": seeds,
                     "checkpoints": checkpoints, **training},
    })


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_a_sensible_reward_learns_to_balance_and_a_falling_reward_does_not():
    task = cartpole_task(timesteps=50_000, seeds=[0, 1], checkpoints=4)
    calls: list[tuple[int, int]] = []
    outcomes = train_population(task, [("upright", upright), ("falls", pays_for_falling)],
                                progress=lambda step, total: calls.append((step, total)))

    assert [o.candidate_id for o in outcomes] == ["upright", "falls"]
    good, bad = outcomes
    assert [m.seed for m in good.members] == [0, 1]
    assert all(m.status == "ok" and m.error is None for o in outcomes for m in o.members)
    # Fitness is the env's own return (500 at most), not the candidate's reward.
    assert min(m.fitness for m in good.members) > 150, good
    assert max(m.fitness for m in bad.members) < 30, bad
    assert good.fitness > 5 * bad.fitness

    total = Schedule.plan(50_000, 4, 8, ppo_settings("CartPole-v1", {}).num_steps).total_steps
    assert [c[1] for c in calls] == [total] * 4
    assert [c[0] for c in calls] == sorted({c[0] for c in calls}) and calls[-1][0] == total
    for outcome, names in ((good, {"alive", "centred"}), (bad, {"fall", "tilt"})):
        for member in outcome.members:
            assert member.env_steps == total and member.train_seconds > 0
            assert [c.step for c in member.checkpoints] == [step for step, _ in calls]
            for checkpoint in member.checkpoints:
                assert set(checkpoint.components) == names
                assert all(math.isfinite(v) for v in checkpoint.components.values())
                # CartPole pays 1 per step: ground-truth return equals episode length.
                assert checkpoint.fitness == pytest.approx(checkpoint.episode_length)
    # Components are per-step means of what the candidate returned.
    first = bad.members[0].checkpoints[0]
    assert first.reward_mean == pytest.approx(first.components["fall"] + first.components["tilt"],
                                              rel=1e-4)
    assert 0 < first.components["fall"] <= 10.0


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_a_members_result_does_not_depend_on_the_rest_of_its_population():
    """What lets overlap split a generation into sub-populations without changing a result."""
    task = cartpole_task(timesteps=8_192, seeds=[0, 1], checkpoints=2)

    def results(outcome):
        return [(m.fitness, m.checkpoints) for m in outcome.members]

    together = train_population(task, [("upright", upright), ("falls", pays_for_falling)])
    (alone,) = train_population(task, [("falls", pays_for_falling)])
    assert results(together[1]) == results(alone)


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_a_nan_reward_fails_its_members_only_and_an_untraceable_one_is_left_out():
    task = cartpole_task(timesteps=12_000, seeds=[0, 1], checkpoints=2)
    population = [("upright", upright), ("nan", nan_once_tilted), ("falls", pays_for_falling),
                  ("broken", python_if)]
    with_nan = train_population(task, population)
    population[1] = ("nan", never_nan)
    without_nan = train_population(task, population)

    nan_outcome = with_nan[1]
    assert not nan_outcome.ok
    for member in nan_outcome.members:
        assert member.status == "failed"
        assert "reward became non-finite" in member.error and "at step" in member.error
        assert member.fitness is None and len(member.checkpoints) == 2
    assert all(m.status == "ok" for m in without_nan[1].members)

    broken = with_nan[3]
    assert [m.status for m in broken.members] == ["failed", "failed"]
    assert "jnp.where" in broken.members[0].error and not broken.members[0].checkpoints

    # The other members are bitwise the same as in the run whose program differs only in
    # that the candidate never goes NaN. (Against a population *without* that candidate
    # XLA compiles a different program, and on CPU that alone may change the last bits of
    # the PPO update, which training then amplifies: measured, unrelated to NaN.)
    for index in (0, 2):
        for a, b in zip(with_nan[index].members, without_nan[index].members):
            assert a.status == b.status == "ok"
            assert a.fitness == b.fitness
            assert a.checkpoints == b.checkpoints


@pytest.mark.slow
@TRAINING_TIMEOUT
def test_training_from_reward_files_on_a_continuous_env(tmp_path: Path):
    (tmp_path / "good.py").write_text(
        "import jax.numpy as jnp\n\n"
        "def compute_reward(obs, action, next_obs, terminated):\n"
        "    upright = next_obs[:, 0]\n"
        "    effort = -0.001 * action[:, 0] ** 2\n"
        "    return upright + effort, {'upright': upright, 'effort': effort}\n"
    )
    (tmp_path / "syntax.py").write_text("def compute_reward(obs, action, next_obs, terminated)\n")
    task = TaskSpec.model_validate({
        "name": "pendulum",
        "description": "swing up",
        "env": {"backend": "jax", "id": "Pendulum-v1"},
        "fitness": {"eval_episodes": 2},
        "training": {"timesteps": 4_096, "num_envs": 4, "seeds": [3], "checkpoints": 2,
                     "hyperparams": {"num_steps": 128}},
    })
    candidates = [TrainCandidate(id="c-syntax", reward_file="syntax.py"),
                  TrainCandidate(id="c-good", reward_file="good.py")]

    outcomes = train_population_from_files(task, candidates, tmp_path, progress=None)

    assert [o.candidate_id for o in outcomes] == ["c-syntax", "c-good"]
    (failed,), (member,) = outcomes[0].members, outcomes[1].members
    assert failed.status == "failed" and "SyntaxError" in failed.error
    assert member.status == "ok" and member.seed == 3
    # Pendulum's own return over 200 steps lies in [-16.3 * 200, 0].
    assert -3300 < member.fitness <= 0
    assert [c.step for c in member.checkpoints] == [2_048, 4_096]
    assert set(member.checkpoints[-1].components) == {"upright", "effort"}
    assert member.checkpoints[-1].episode_length == 200


def test_hyperparams_override_env_defaults_and_are_checked():
    assert ppo_settings("Pendulum-v1", {}).gamma == 0.95
    assert ppo_settings("Pendulum-v1", {"gamma": 0.9}).gamma == 0.9
    assert ppo_settings("CartPole-v1", {}).gamma == 0.99
    with pytest.raises(ValidationError, match="learning_rat"):
        ppo_settings("CartPole-v1", {"learning_rat": 1e-3})
    with pytest.raises(ValueError, match="training.num_envs"):
        ppo_settings("CartPole-v1", {"num_envs": 4})


def test_schedule_spreads_iterations_over_the_checkpoints():
    schedule = Schedule.plan(timesteps=50_000, checkpoints=4, num_envs=8, num_steps=64)
    assert schedule.iteration_steps == 512
    assert sum(schedule.chunk_iterations) == 98  # ceil(50_000 / 512)
    assert schedule.chunk_iterations == (25, 25, 24, 24)
    assert schedule.total_steps == 98 * 512
    few = Schedule.plan(timesteps=1_000, checkpoints=10, num_envs=8, num_steps=64)
    assert few.chunk_iterations == (1, 1)


@pytest.mark.slow
@pytest.mark.timeout(600, method="thread")
def test_mountain_car_reaches_the_flag_with_a_shaped_reward():
    def energy_shaped(obs, action, next_obs, terminated):
        def energy(o):
            return 10_000.0 * (0.0025 / 3.0 * jnp.sin(3.0 * o[:, 0]) + 0.5 * o[:, 1] ** 2)

        progress = 0.99 * energy(next_obs) - energy(obs)
        goal = 10.0 * terminated.astype(jnp.float32)
        return progress + goal - 1.0, {"progress": progress, "goal": goal}

    task = TaskSpec.model_validate({
        "name": "mountain-car",
        "description": "reach the flag",
        "env": {"backend": "jax", "id": "MountainCar-v0"},
        "fitness": {"metric": "success_rate", "success": "terminated", "eval_episodes": 10},
        "training": {"timesteps": 50_000, "num_envs": 8, "seeds": [0, 1], "checkpoints": 5},
    })
    (outcome,) = train_population(task, [("energy", energy_shaped)])
    assert outcome.fitness == 1.0, outcome


@pytest.mark.slow
@pytest.mark.timeout(600, method="thread")
def test_pendulum_swings_up_with_its_own_reward_at_the_default_settings():
    def pendulum_cost(obs, action, next_obs, terminated):
        theta = jnp.arctan2(obs[:, 1], obs[:, 0])
        torque = jnp.clip(action[:, 0], -2.0, 2.0)
        cost = theta**2 + 0.1 * obs[:, 2] ** 2 + 0.001 * torque**2
        return -cost, {"angle": -(theta**2)}

    task = TaskSpec.model_validate({
        "name": "pendulum",
        "description": "swing up",
        "env": {"backend": "jax", "id": "Pendulum-v1"},
        "fitness": {"eval_episodes": 10},
        "training": {"timesteps": 200_000, "num_envs": 8, "seeds": [0, 1], "checkpoints": 5},
    })
    (outcome,) = train_population(task, [("own", pendulum_cost)])
    assert all(m.fitness > -250 for m in outcome.members), outcome
