"""MiniGrid gridworlds in JAX (``xminigrid/<name>``, e.g. ``xminigrid/MiniGrid-DoorKey-8x8``)
as gymnax environments with a flat float observation.

xminigrid's own observation is an egocentric (view, view, 2) array of tile and colour ids:
a reward would have to decode ids, and rejax's dense policy reads ids as magnitudes.
`MiniGridEnv` observes instead, per step, one flat float row:

- `STATE_COLUMNS` (13 columns) named from the state: the agent's cell and facing, whether it
  carries a key, and the cells of the key, the door and the goal, the door's state;
- then, unless ``view_size`` is 0, the agent's egocentric view as a one-hot block of shape
  (view_size, view_size, len(VIEW_CHANNELS)), flattened row by row (`view_block` says where).

Cells are (x, y) = (column from the left, row from the top), walls included: on an 8 x 8 grid
the free cells are x, y = 1..6. The env's own reward (paid only on reaching the goal, less
the later it is reached) stays the ground truth. An episode terminates when the agent steps
onto the goal and is truncated at ``max_steps`` (10 x cells by default, as MiniGrid); the
adapter keeps the two apart (``is_terminal_task_only``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import xminigrid
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment
from xminigrid.core.constants import DIRECTIONS, NUM_ACTIONS, Tiles
from xminigrid.core.observation import transparent_field_of_view
from xminigrid.environment import EnvParams
from xminigrid.types import State, StepType, TimeStep

STATE_COLUMNS = (
    "agent_x", "agent_y",  # the agent's cell
    "facing_dx", "facing_dy",  # the cell ahead is (agent_x + facing_dx, agent_y + facing_dy)
    "carrying_key",  # 1 while the agent holds a key
    "key_x", "key_y",  # the key's cell; the agent's cell while carried; -1 where there is none
    "door_x", "door_y",  # the door's cell (-1 where there is none)
    "door_open",  # 1 while the door is open (passable)
    "door_locked",  # 1 until the door is unlocked with the key
    "goal_x", "goal_y",  # the goal's cell (-1 where there is none)
)
COLUMN = {name: i for i, name in enumerate(STATE_COLUMNS)}
# The view block's channels: one of them is 1 in a cell inside the grid, none outside it.
VIEW_CHANNELS = ("wall", "floor", "goal", "key", "door_locked", "door_closed", "door_open")
_VIEW_TILES = jnp.array([Tiles.WALL, Tiles.FLOOR, Tiles.GOAL, Tiles.KEY, Tiles.DOOR_LOCKED,
                         Tiles.DOOR_CLOSED, Tiles.DOOR_OPEN])
_DOORS = (Tiles.DOOR_LOCKED, Tiles.DOOR_CLOSED, Tiles.DOOR_OPEN)
ACTIONS = ("forward", "turn_right", "turn_left", "pick_up", "put_down", "toggle")


@struct.dataclass
class MiniGridParams:
    """xminigrid's params (all static: grid size, view size, step limit)."""

    grid: EnvParams = struct.field(pytree_node=False)

    @property
    def max_steps_in_episode(self) -> int:
        return int(self.grid.max_steps)


@struct.dataclass
class MiniGridState:
    inner: State
    terminated: jax.Array  # the last step reached the goal


class MiniGridEnv(Environment):
    """An xminigrid env (no auto-reset) behind gymnax's interface, flat float observations."""

    is_terminal_task_only = True  # `split_done`: is_terminal leaves out the time limit

    def __init__(self, env: Any, params: EnvParams, name: str, view_size: int):
        super().__init__()
        self.env = env
        self._params = MiniGridParams(params)
        self._name = name
        self.view_size = view_size

    @property
    def default_params(self) -> MiniGridParams:
        return self._params

    def reset_env(self, key, params: MiniGridParams):
        inner = self.env.reset(params.grid, key).state
        state = MiniGridState(inner=inner, terminated=jnp.zeros((), bool))
        return self.get_obs(state, params), state

    def step_env(self, key, state: MiniGridState, action, params: MiniGridParams):
        before = TimeStep(state=state.inner, step_type=StepType.MID, reward=jnp.asarray(0.0),
                          discount=jnp.asarray(1.0), observation=jnp.zeros(()))
        after = self.env.step(params.grid, before, jnp.asarray(action, jnp.int32))
        terminated = jnp.asarray(after.discount == 0.0)  # xminigrid: discount 0 only at the goal
        truncated = after.state.step_num >= params.grid.max_steps
        next_state = MiniGridState(inner=after.state, terminated=terminated)
        done = terminated | truncated
        return self.get_obs(next_state, params), next_state, after.reward, done, {}

    def is_terminal(self, state: MiniGridState, params: MiniGridParams):
        """The agent reached the goal (not the time limit)."""
        return state.terminated

    def get_obs(self, state: MiniGridState, params: MiniGridParams | None = None, key=None):
        columns = state_columns(state.inner)
        if not self.view_size:
            return columns
        view = transparent_field_of_view(state.inner.grid, state.inner.agent,
                                         self.view_size, self.view_size)
        one_hot = (view[:, :, :1] == _VIEW_TILES).astype(jnp.float32)
        return jnp.concatenate([columns, one_hot.reshape(-1)])

    def view_block(self) -> tuple[int, tuple[int, int, int]]:
        """(first column, shape) of the view block in the observation."""
        return len(STATE_COLUMNS), (self.view_size, self.view_size, len(VIEW_CHANNELS))

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_actions(self) -> int:
        return int(NUM_ACTIONS)

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(int(NUM_ACTIONS))

    def observation_space(self, params) -> spaces.Box:
        size = len(STATE_COLUMNS) + self.view_size**2 * len(VIEW_CHANNELS)
        return spaces.Box(-1.0, float(max(params.grid.height, params.grid.width)), (size,), jnp.float32)


def state_columns(state: State) -> jax.Array:
    """The `STATE_COLUMNS` of an xminigrid state, as float32."""
    tiles = state.grid[:, :, 0]
    agent = state.agent
    agent_y, agent_x = agent.position[0], agent.position[1]
    facing = DIRECTIONS[agent.direction]  # (row step, column step)
    carrying = agent.pocket[0] == Tiles.KEY
    key_x, key_y = _find(tiles == Tiles.KEY)
    key_x = jnp.where(carrying, agent_x, key_x)
    key_y = jnp.where(carrying, agent_y, key_y)
    door_x, door_y = _find(jnp.isin(tiles, jnp.array(_DOORS)))
    door_tile = tiles[jnp.maximum(door_y, 0), jnp.maximum(door_x, 0)]
    goal_x, goal_y = _find(tiles == Tiles.GOAL)
    values = (agent_x, agent_y, facing[1], facing[0], carrying, key_x, key_y, door_x, door_y,
              (door_y >= 0) & (door_tile == Tiles.DOOR_OPEN),
              (door_y >= 0) & (door_tile == Tiles.DOOR_LOCKED), goal_x, goal_y)
    return jnp.stack([jnp.asarray(v, jnp.float32) for v in values])


def _find(mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(x, y) of the first cell where `mask` holds, row by row; (-1, -1) where none does."""
    index = jnp.argmax(mask.reshape(-1))
    found = jnp.any(mask)
    width = mask.shape[1]
    return jnp.where(found, index % width, -1), jnp.where(found, index // width, -1)


def make_minigrid_env(name: str, kwargs: dict[str, Any], max_episode_steps: int | None):
    """The env of xminigrid id `name` and its params. `kwargs`: ``view_size`` (odd, >= 3; 0
    leaves the view block out; default 7) and other fields of xminigrid's `EnvParams`;
    `max_episode_steps` its ``max_steps``."""
    if name not in xminigrid.registered_environments():
        known = ", ".join(n for n in xminigrid.registered_environments() if n.startswith("MiniGrid"))
        raise ValueError(f"xminigrid has no env {name!r}; its MiniGrid envs: {known}")
    updates = dict(kwargs)
    view_size = int(updates.get("view_size", 7))
    if view_size == 0:
        updates.pop("view_size")
    elif view_size < 3 or view_size % 2 == 0:
        raise ValueError(f"view_size must be 0 or odd and >= 3, not {view_size}")
    if max_episode_steps:
        updates["max_steps"] = max_episode_steps
    env, params = xminigrid.make(name, **updates)
    return MiniGridEnv(env, params, name, view_size), MiniGridParams(params)
