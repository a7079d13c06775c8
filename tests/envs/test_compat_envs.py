"""Brax and Craftax envs on the jax backend: spaces, real transitions with true terminal
flags, and the shipped tasks' baseline rewards passing the trace check on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eureka.envs import gymnax_backend, sample_transitions, space_info
from eureka.envs.base import SpaceInfo
from eureka.reward import load_reward
from eureka.task import EnvSpec, load_task

pytestmark = pytest.mark.timeout(240, method="thread")
from tests.helpers import require

require("brax", "brax (the envs extra)")
require("craftax", "craftax (the envs extra)")

ROOT = Path(__file__).resolve().parents[2]
# A short episode length so that a few hundred random steps see time limits too.
ANT = EnvSpec(backend="jax", id="brax/ant", max_episode_steps=40)
CRAFTAX = EnvSpec(backend="jax", id="craftax/Craftax-Classic-Symbolic-v1", max_episode_steps=60)
ANT_HEALTHY_Z = (0.2, 1.0)
CRAFTAX_HEALTH = 1335
CRAFTAX_PLAYER_ON_LAVA = (3 * 9 + 4) * 21 + 14  # the player's cell, block channel "lava"


@pytest.fixture(scope="module")
def ant_transitions():
    return sample_transitions(ANT, count=200, seed=0)


@pytest.fixture(scope="module")
def craftax_transitions():
    return sample_transitions(CRAFTAX, count=200, seed=0)


def test_space_info_of_brax_and_craftax_envs():
    assert space_info(ANT) == SpaceInfo(27, "continuous", 8, "jax")
    assert space_info(CRAFTAX) == SpaceInfo(1345, "discrete", 17, "jax")


def test_unknown_ids_of_a_family_fail_clearly():
    with pytest.raises(ValueError, match="brax has no env 'antt'"):
        gymnax_backend.make_env(EnvSpec(backend="jax", id="brax/antt"))
    with pytest.raises(ValueError, match="Unknown craftax environment"):
        gymnax_backend.make_env(EnvSpec(backend="jax", id="craftax/Nope-v1"))


def test_ant_transitions_split_falls_from_time_limits(ant_transitions):
    t = ant_transitions
    assert t.obs.shape == t.next_obs.shape == (200, 27) and t.action.shape == (200, 8)
    assert np.all(np.abs(t.action) <= 1.0) and np.all(np.isfinite(t.next_obs))
    ended = t.terminated | t.truncated
    np.testing.assert_array_equal(t.next_obs[:-1][~ended[:-1]], t.obs[1:][~ended[:-1]])
    # Terminated exactly where the torso height (obs[:, 0]) left the healthy range.
    outside = (t.next_obs[:, 0] < ANT_HEALTHY_Z[0]) | (t.next_obs[:, 0] > ANT_HEALTHY_Z[1])
    np.testing.assert_array_equal(t.terminated, outside)
    assert t.truncated.any() and not (t.terminated & t.truncated).any()


def test_craftax_transitions_split_deaths_from_time_limits(craftax_transitions):
    t = craftax_transitions
    assert t.obs.shape == (200, 1345) and t.action.shape == (200,)
    assert set(np.unique(t.action)) <= set(range(17))
    assert t.obs.min() >= 0.0 and t.obs.max() <= 1.0
    ended = t.terminated | t.truncated
    np.testing.assert_array_equal(t.next_obs[:-1][~ended[:-1]], t.obs[1:][~ended[:-1]])
    # 200 random steps with a 60-step limit: time limits; terminated only by death or lava.
    assert t.truncated.sum() >= 2 and not (t.terminated & t.truncated).any()
    dead = t.next_obs[:, CRAFTAX_HEALTH] <= 0.0
    on_lava = t.next_obs[:, CRAFTAX_PLAYER_ON_LAVA] == 1.0
    np.testing.assert_array_equal(t.terminated, dead | on_lava)
    # The player view is one-hot: one block type per cell, in every cell.
    cells = t.obs[:, :1323].reshape(200, 63, 21)[:, :, :17]
    np.testing.assert_array_equal(cells.sum(axis=2), 1.0)
    # Exactly one facing direction.
    np.testing.assert_array_equal(t.obs[:, 1339:1343].sum(axis=1), 1.0)


@pytest.mark.parametrize("task_file, transitions", [("tasks/ant.yaml", "ant_transitions"),
                                                     ("tasks/craftax_classic.yaml", "craftax_transitions"),
                                                     ("tasks/craftax_pickaxe.yaml", "craftax_transitions")])
def test_shipped_baselines_pass_the_trace_check(task_file, transitions, request):
    task = load_task(ROOT / task_file)
    transitions = request.getfixturevalue(transitions)
    info = space_info(task.env)
    for name in ("human", "sparse"):
        reward = load_reward(task.resolve(getattr(task.baselines, name)))
        assert gymnax_backend.trace_check(reward, info, transitions) == [], name
