"""The craftax adapter's goal option (tasks/craftax_pickaxe.yaml): an episode ends, as a
success, on the step the wooden pickaxe is made, and otherwise at the task's time limit."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers import require

require("craftax", "craftax (the envs extra)")

from craftax.craftax_classic.constants import Achievement, Action, BlockType  # noqa: E402

from eureka.envs import gymnax_backend  # noqa: E402
from eureka.envs.craftax_env import CraftaxEnv, make_craftax_env  # noqa: E402
from eureka.reward import load_reward  # noqa: E402
from eureka.task import load_task  # noqa: E402
from eureka.training.fitness import success_flags  # noqa: E402

pytestmark = pytest.mark.timeout(300, method="thread")
ROOT = Path(__file__).resolve().parents[2]
TASK = load_task(ROOT / "tasks" / "craftax_pickaxe.yaml")
WOOD, WOOD_PICKAXE = 1323, 1329


@pytest.fixture(scope="module")
def pickaxe_env():
    env, params = gymnax_backend.make_env(TASK.env)
    return env, params, jax.jit(env.step_env), _cleared_start(env, params)


def _cleared_start(env, params):
    """A generated world with a 5 x 5 patch of grass around the player, a tree above it, the
    player facing the tree with 2 wood, and no mobs."""
    obs, state = jax.jit(env.reset_env)(jax.random.PRNGKey(0), params)
    row, col = (int(v) for v in state.player_position)
    world = state.map.at[row - 2:row + 3, col - 2:col + 3].set(BlockType.GRASS.value)
    world = world.at[row - 1, col].set(BlockType.TREE.value)
    no_mobs = lambda mobs: mobs.replace(mask=jnp.zeros_like(mobs.mask))  # noqa: E731
    return state.replace(
        map=world, player_direction=jnp.full_like(state.player_direction, Action.UP.value),
        inventory=state.inventory.replace(wood=jnp.full_like(state.inventory.wood, 2)),
        zombies=no_mobs(state.zombies), cows=no_mobs(state.cows),
        skeletons=no_mobs(state.skeletons), arrows=no_mobs(state.arrows),
        mob_map=jnp.zeros_like(state.mob_map),
    )


def test_the_episode_ends_in_success_on_the_step_the_pickaxe_is_made(pickaxe_env):
    env, params, step, state = pickaxe_env
    assert isinstance(env, CraftaxEnv) and env.goal == Achievement.MAKE_WOOD_PICKAXE.value
    obs = jax.jit(env.get_obs)(state)
    recipe = [Action.DO, Action.RIGHT, Action.PLACE_TABLE, Action.MAKE_WOOD_PICKAXE]
    wood_after = [3, 3, 1, 0]
    rewards = {name: load_reward(TASK.resolve(getattr(TASK.baselines, name))) for name in ("human", "sparse")}
    paid = {name: [] for name in rewards}
    for i, action in enumerate(recipe):
        next_obs, next_state, _, done, _ = step(jax.random.PRNGKey(i + 1), state, action.value, params)
        terminated, truncated = gymnax_backend.split_done(env, params, next_state, done)
        assert int(next_state.inventory.wood) == wood_after[i], action
        last = i == len(recipe) - 1
        assert bool(done) == last and bool(terminated) == last and not bool(truncated), action
        flags = success_flags(TASK.fitness, obs[None], next_obs[None], np.array([bool(terminated)]),
                              np.array([bool(truncated)]), np.zeros(1))
        assert bool(flags[0]) == last, action
        for name, reward in rewards.items():
            total, _ = reward(obs[None], jnp.array([action.value]), next_obs[None], terminated[None])
            paid[name].append(float(total[0]))
        if not last:
            obs, state = next_obs, next_state
    assert bool(next_state.achievements[Achievement.MAKE_WOOD_PICKAXE.value])
    assert next_obs[WOOD_PICKAXE] > 0 and obs[WOOD_PICKAXE] == 0
    # The baselines on the recipe. Human: progress for the third wood and the table, and on
    # the last step the pickaxe (10) less the progress made (5). Sparse: the pickaxe only.
    assert paid == {"human": [1.0, 0.0, 2.0, 5.0], "sparse": [0.0, 0.0, 0.0, 1.0]}

    # Without a goal the same state is just another state of the open game.
    assert not bool(CraftaxEnv(env.env).is_terminal(next_state, params))


def test_the_time_limit_truncates(pickaxe_env):
    env, params, step, state = pickaxe_env
    assert int(params.max_timesteps) == TASK.env.max_episode_steps == 500
    state = state.replace(timestep=jnp.full_like(state.timestep, params.max_timesteps - 2))
    for i in range(2):
        _, state, _, done, _ = step(jax.random.PRNGKey(i), state, Action.NOOP.value, params)
        terminated, truncated = gymnax_backend.split_done(env, params, state, done)
        assert (bool(done), bool(terminated), bool(truncated)) == (i == 1, False, i == 1)


def test_an_unknown_goal_names_the_achievements():
    with pytest.raises(ValueError, match="no achievement 'make_pickaxe'.*make_wood_pickaxe"):
        make_craftax_env("Craftax-Classic-Symbolic-v1", {"goal": "make_pickaxe"}, None)
