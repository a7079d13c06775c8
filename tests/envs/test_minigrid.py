"""xminigrid's DoorKey on the jax backend (`eureka.envs.minigrid`): the named columns follow
the real state through a scripted solve (forward moves, pickup, unlocking, the goal), the
view block is the agent's view, termination is told from the time limit, and the shipped
tasks' rewards pass the trace check on real transitions."""

from __future__ import annotations

import functools
from collections import deque

import jax
import numpy as np
import pytest

from tests.helpers import ROOT, require

require("xminigrid", "xminigrid (the jax extra)")

from eureka.envs import gymnax_backend, sample_transitions, space_info  # noqa: E402
from eureka.envs.base import SpaceInfo  # noqa: E402
from eureka.envs.minigrid import COLUMN, STATE_COLUMNS, VIEW_CHANNELS  # noqa: E402
from eureka.reward import load_reward  # noqa: E402
from eureka.task import EnvSpec, load_task  # noqa: E402
from eureka.training.exported_reward import export_reward  # noqa: E402
from eureka.training.fitness import success_flags  # noqa: E402

pytestmark = pytest.mark.timeout(300, method="thread")

FORWARD, RIGHT, LEFT, PICK_UP, PUT_DOWN, TOGGLE = range(6)
HEADINGS = [(0, -1), (1, 0), (0, 1), (-1, 0)]  # (dx, dy) of xminigrid's directions 0..3 (clockwise)


def spec(size: int, **kwargs) -> EnvSpec:
    return EnvSpec(backend="jax", id=f"xminigrid/MiniGrid-DoorKey-{size}x{size}", **kwargs)


@functools.lru_cache(maxsize=None)
def compiled(size: int, max_steps: int | None = None, view_size: int = 7):
    """The env, its params and jitted reset and step (with `split_done`), once per test module."""
    env, params = gymnax_backend.make_env(spec(size, max_episode_steps=max_steps,
                                               kwargs={"view_size": view_size}))

    def step(key, state, action):
        obs, state, reward, done, _ = env.step_env(key, state, action, params)
        return (obs, state, reward) + gymnax_backend.split_done(env, params, state, done)

    return env, params, jax.jit(lambda key: env.reset_env(key, params)), jax.jit(step)


class Episode:
    """One env stepped from Python: the flat observation and the state it came from."""

    def __init__(self, size: int, seed: int, max_steps: int | None = None):
        self.env, self.params, reset, self._step = compiled(size, max_steps)
        self.key = jax.random.PRNGKey(seed)
        obs, self.state = reset(self.key)
        self.obs = np.asarray(obs)
        self.terminated = self.truncated = False
        self.env_reward = 0.0

    def col(self, name: str) -> int:
        return int(self.obs[COLUMN[name]])

    def step(self, action: int) -> np.ndarray:
        """Take `action`; the observation it was taken from."""
        self.key, key = jax.random.split(self.key)
        before = self.obs
        obs, self.state, reward, terminated, truncated = self._step(key, self.state, action)
        self.obs, self.env_reward = np.asarray(obs), float(reward)
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        return before


def assert_columns_match_state(ep: Episode) -> None:
    """Every named column against xminigrid's own state (grid rows are y, columns x)."""
    inner = ep.state.inner
    tiles = np.asarray(inner.grid[:, :, 0])
    y, x = (int(v) for v in inner.agent.position)
    carrying = int(inner.agent.pocket[0]) == 7  # Tiles.KEY
    assert (ep.col("agent_x"), ep.col("agent_y")) == (x, y)
    assert (ep.col("facing_dx"), ep.col("facing_dy")) == HEADINGS[int(inner.agent.direction)]
    assert ep.col("carrying_key") == carrying
    (door_y,), (door_x,) = np.nonzero(np.isin(tiles, [8, 9, 10]))
    assert (ep.col("door_x"), ep.col("door_y")) == (door_x, door_y)
    assert ep.col("door_open") == (tiles[door_y, door_x] == 10)
    assert ep.col("door_locked") == (tiles[door_y, door_x] == 8)
    (goal_y,), (goal_x,) = np.nonzero(tiles == 6)
    assert (ep.col("goal_x"), ep.col("goal_y")) == (goal_x, goal_y)
    if carrying:
        assert (ep.col("key_x"), ep.col("key_y")) == (x, y) and not (tiles == 7).any()
    else:
        (key_y,), (key_x,) = np.nonzero(tiles == 7)
        assert (ep.col("key_x"), ep.col("key_y")) == (key_x, key_y)


def plan(ep: Episode, size: int, target: tuple[int, int]) -> list[int]:
    """Turns and forward moves that leave the agent facing `target`, planned from the named
    columns only (outer walls, the dividing wall through the door, the key on the floor)."""
    door = (ep.col("door_x"), ep.col("door_y"))
    key = (ep.col("key_x"), ep.col("key_y"))

    def free(cell):
        x, y = cell
        if not (0 < x < size - 1 and 0 < y < size - 1):
            return False
        if x == door[0]:
            return cell == door and ep.col("door_open") == 1
        return not (cell == key and not ep.col("carrying_key"))

    start = (ep.col("agent_x"), ep.col("agent_y"),
             HEADINGS.index((ep.col("facing_dx"), ep.col("facing_dy"))))
    seen, queue = {start: []}, deque([start])
    while queue:
        x, y, d = node = queue.popleft()
        dx, dy = HEADINGS[d]
        if (x + dx, y + dy) == target:
            return seen[node]
        moves = [((x, y, (d + 1) % 4), RIGHT), ((x, y, (d - 1) % 4), LEFT)]
        if free((x + dx, y + dy)):
            moves.append(((x + dx, y + dy, d), FORWARD))
        for nxt, action in moves:
            if nxt not in seen:
                seen[nxt] = seen[node] + [action]
                queue.append(nxt)
    raise AssertionError(f"no path to {target}")


def test_space_info_with_and_without_the_view_block():
    assert space_info(spec(5)) == SpaceInfo(13 + 7 * 7 * 7, "discrete", 6, "jax")
    assert space_info(spec(8, kwargs={"view_size": 0})) == SpaceInfo(13, "discrete", 6, "jax")
    assert len(STATE_COLUMNS) == 13 and len(VIEW_CHANNELS) == 7


def test_unknown_ids_and_bad_view_sizes_fail_clearly():
    with pytest.raises(ValueError, match="xminigrid has no env 'MiniGrid-DoorKey-7x7'"):
        gymnax_backend.make_env(spec(7))
    with pytest.raises(ValueError, match="view_size"):
        gymnax_backend.make_env(spec(5, kwargs={"view_size": 4}))


@pytest.mark.parametrize("size, seed", [(5, 0), (8, 1), (8, 2)])
def test_columns_follow_a_scripted_solve_to_the_goal(size, seed):
    ep = Episode(size, seed)
    assert_columns_match_state(ep)
    assert ep.col("door_locked") == 1 and ep.col("door_open") == 0 and ep.col("carrying_key") == 0
    assert ep.col("agent_x") < ep.col("door_x") < ep.col("goal_x") == size - 2
    moved = 0

    def walk(target):
        nonlocal moved
        for action in plan(ep, size, target):
            before = ep.step(action)
            assert not (ep.terminated or ep.truncated)
            if action == FORWARD:  # a forward move goes one cell the way the agent faced
                ahead = (before[COLUMN["agent_x"]] + before[COLUMN["facing_dx"]],
                         before[COLUMN["agent_y"]] + before[COLUMN["facing_dy"]])
                assert (ep.col("agent_x"), ep.col("agent_y")) == ahead
                moved += 1
            assert_columns_match_state(ep)

    walk((ep.col("door_x"), ep.col("door_y")))
    ep.step(TOGGLE)
    assert ep.col("door_locked") == 1 and ep.col("door_open") == 0  # not without the key
    walk((ep.col("key_x"), ep.col("key_y")))
    ep.step(PICK_UP)
    assert ep.col("carrying_key") == 1
    assert (ep.col("key_x"), ep.col("key_y")) == (ep.col("agent_x"), ep.col("agent_y"))
    assert_columns_match_state(ep)
    walk((ep.col("door_x"), ep.col("door_y")))
    ep.step(TOGGLE)
    assert ep.col("door_open") == 1 and ep.col("door_locked") == 0
    assert_columns_match_state(ep)
    goal = (ep.col("goal_x"), ep.col("goal_y"))
    walk(goal)
    before = ep.step(FORWARD)
    assert ep.terminated and not ep.truncated and ep.env_reward > 0
    assert (ep.col("agent_x"), ep.col("agent_y")) == goal and moved > 0
    # The task's success expression sees it.
    task = load_task(ROOT / f"tasks/doorkey_{size}x{size}.yaml")
    flags = success_flags(task.fitness, before[None], ep.obs[None], np.array([True]),
                          np.array([False]), np.array([ep.env_reward]))
    assert flags.tolist() == [True]


def test_the_view_block_is_the_agents_view():
    ep = Episode(8, 3)
    for action in [FORWARD, LEFT, FORWARD, RIGHT, RIGHT, FORWARD]:
        ep.step(action)
        start, shape = ep.env.view_block()
        view = ep.obs[start:].reshape(shape)
        tiles = np.asarray(ep.state.inner.grid[:, :, 0])
        x, y, dx, dy = (ep.col(n) for n in ("agent_x", "agent_y", "facing_dx", "facing_dy"))
        center = shape[1] // 2
        for ahead in range(shape[0]):
            for right in range(-center, center + 1):
                # The view's row r is (shape[0] - 1 - r) cells ahead, column c is (c - center)
                # cells to the right; to the right of (dx, dy) is (-dy, dx).
                cx, cy = x + ahead * dx - right * dy, y + ahead * dy + right * dx
                cell = view[shape[0] - 1 - ahead, center + right]
                if 0 <= cx < 8 and 0 <= cy < 8:
                    expected = VIEW_CHANNELS.index(
                        {2: "wall", 1: "floor", 6: "goal", 7: "key", 8: "door_locked",
                         9: "door_closed", 10: "door_open"}[int(tiles[cy, cx])])
                    assert cell.argmax() == expected and cell.sum() == 1
                else:
                    assert cell.sum() == 0


@pytest.mark.parametrize("size", [5, 8])
def test_random_transitions_and_the_shipped_rewards(size):
    task = load_task(ROOT / f"tasks/doorkey_{size}x{size}.yaml")
    t = sample_transitions(task.env, count=3000, seed=0)
    ended = t.terminated | t.truncated
    np.testing.assert_array_equal(t.next_obs[:-1][~ended[:-1]], t.obs[1:][~ended[:-1]])
    assert not (t.terminated & t.truncated).any()
    # Episodes end at the goal or at the time limit (10 x the cells), never otherwise.
    ends = np.flatnonzero(ended)
    lengths = np.diff(np.concatenate([[-1], ends]))
    assert t.truncated.sum() >= 2
    np.testing.assert_array_equal(lengths[t.truncated[ends]], 10 * size * size)
    assert (lengths[t.terminated[ends]] < 10 * size * size).all()
    np.testing.assert_array_equal(t.env_reward > 0, t.terminated)  # paid only at the goal
    at_goal = (t.next_obs[:, COLUMN["agent_x"]] == t.next_obs[:, COLUMN["goal_x"]]) & \
              (t.next_obs[:, COLUMN["agent_y"]] == t.next_obs[:, COLUMN["goal_y"]])
    np.testing.assert_array_equal(t.terminated, at_goal)
    info = space_info(task.env)
    for name in ("human", "sparse"):
        reward = load_reward(task.resolve(getattr(task.baselines, name)))
        assert gymnax_backend.trace_check(reward, info, t) == [], name
        assert export_reward(reward, info), name  # what the sandboxed probe hands to training
