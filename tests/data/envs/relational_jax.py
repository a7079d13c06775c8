"""The point-goal and heading envs of relational.py for the jax backend (gymnax Environments):
the same dynamics, observations and scores, so that a reward written for one reads the same on
both."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

DT = 0.1


@struct.dataclass
class PointState(environment.EnvState):
    point: jax.Array
    speed: jax.Array
    goal: jax.Array
    time: int


@struct.dataclass
class PointParams(environment.EnvParams):
    max_steps_in_episode: int = 100


class PointGoalJax(environment.Environment[PointState, PointParams]):
    """obs: point x, y, point vx, vy, goal x, y; action: a force in [-1, 1]^2."""

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (6,)

    @property
    def default_params(self) -> PointParams:
        return PointParams()

    def step_env(self, key: jax.Array, state: PointState, action: Any, params: PointParams):
        force = jnp.clip(jnp.asarray(action, jnp.float32).reshape(2), -1.0, 1.0)
        speed = jnp.clip(0.95 * state.speed + DT * force, -1.0, 1.0)
        point = jnp.clip(state.point + DT * speed, -1.0, 1.0)
        state = PointState(point=point, speed=speed, goal=state.goal, time=state.time + 1)
        reward = -jnp.linalg.norm(point - state.goal)
        done = self.is_terminal(state, params)
        return (jax.lax.stop_gradient(self.get_obs(state)), jax.lax.stop_gradient(state), reward, done,
                {"discount": self.discount(state, params)})

    def reset_env(self, key: jax.Array, params: PointParams):
        point_key, goal_key = jax.random.split(key)
        state = PointState(point=jax.random.uniform(point_key, (2,), minval=-0.8, maxval=0.8),
                           speed=jnp.zeros(2), goal=jax.random.uniform(goal_key, (2,), minval=-0.8, maxval=0.8),
                           time=0)
        return self.get_obs(state), state

    def get_obs(self, state: PointState, params: PointParams | None = None, key: Any = None) -> jax.Array:
        return jnp.concatenate([state.point, state.speed, state.goal]).astype(jnp.float32)

    def is_terminal(self, state: PointState, params: PointParams) -> jax.Array:
        return jnp.array(state.time >= params.max_steps_in_episode)

    @property
    def name(self) -> str:
        return "PointGoalJax"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: PointParams | None = None) -> spaces.Box:
        return spaces.Box(low=-1.0, high=1.0, shape=(2,), dtype=jnp.float32)

    def observation_space(self, params: PointParams) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(6,), dtype=jnp.float32)


@struct.dataclass
class HeadingState(environment.EnvState):
    heading: jax.Array
    turn: jax.Array
    target: jax.Array
    time: int


class HeadingJax(environment.Environment[HeadingState, PointParams]):
    """obs: cos(psi), sin(psi), turn rate, target heading; action: a torque in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (4,)

    @property
    def default_params(self) -> PointParams:
        return PointParams()

    def step_env(self, key: jax.Array, state: HeadingState, action: Any, params: PointParams):
        torque = jnp.clip(jnp.asarray(action, jnp.float32).reshape(-1)[0], -1.0, 1.0)
        turn = jnp.clip(0.9 * state.turn + 3.0 * DT * torque, -2.0, 2.0)
        moved = state.heading + DT * turn
        heading = jnp.arctan2(jnp.sin(moved), jnp.cos(moved))
        state = HeadingState(heading=heading, turn=turn, target=state.target, time=state.time + 1)
        error = jnp.arctan2(jnp.sin(heading - state.target), jnp.cos(heading - state.target))
        done = self.is_terminal(state, params)
        return (jax.lax.stop_gradient(self.get_obs(state)), jax.lax.stop_gradient(state), -jnp.abs(error), done,
                {"discount": self.discount(state, params)})

    def reset_env(self, key: jax.Array, params: PointParams):
        heading_key, target_key = jax.random.split(key)
        state = HeadingState(heading=jax.random.uniform(heading_key, (), minval=-jnp.pi, maxval=jnp.pi),
                             turn=jnp.zeros(()), target=jax.random.uniform(target_key, (), minval=-jnp.pi, maxval=jnp.pi),
                             time=0)
        return self.get_obs(state), state

    def get_obs(self, state: HeadingState, params: PointParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([jnp.cos(state.heading), jnp.sin(state.heading), state.turn, state.target]).astype(jnp.float32)

    def is_terminal(self, state: HeadingState, params: PointParams) -> jax.Array:
        return jnp.array(state.time >= params.max_steps_in_episode)

    @property
    def name(self) -> str:
        return "HeadingJax"

    @property
    def num_actions(self) -> int:
        return 1

    def action_space(self, params: PointParams | None = None) -> spaces.Box:
        return spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=jnp.float32)

    def observation_space(self, params: PointParams) -> spaces.Box:
        return spaces.Box(-jnp.pi, jnp.pi, shape=(4,), dtype=jnp.float32)
