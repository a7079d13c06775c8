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


class _TimedBoxEnv(environment.Environment):
    """What both envs share: episodes of max_steps_in_episode steps, a Box of OBS_SIZE
    observations in [-OBS_BOUND, OBS_BOUND] and of ACTION_SIZE actions in [-1, 1]."""

    OBS_SIZE: int
    OBS_BOUND: float
    ACTION_SIZE: int

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (self.OBS_SIZE,)

    @property
    def default_params(self) -> PointParams:
        return PointParams()

    def is_terminal(self, state: Any, params: PointParams) -> jax.Array:
        return jnp.array(state.time >= params.max_steps_in_episode)

    def transition(self, state: Any, reward: jax.Array, params: PointParams):
        """step_env's answer for the state after a step."""
        return (jax.lax.stop_gradient(self.get_obs(state)), jax.lax.stop_gradient(state), reward,
                self.is_terminal(state, params), {"discount": self.discount(state, params)})

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def num_actions(self) -> int:
        return self.ACTION_SIZE

    def action_space(self, params: PointParams | None = None) -> spaces.Box:
        return spaces.Box(low=-1.0, high=1.0, shape=(self.ACTION_SIZE,), dtype=jnp.float32)

    def observation_space(self, params: PointParams) -> spaces.Box:
        return spaces.Box(-self.OBS_BOUND, self.OBS_BOUND, shape=(self.OBS_SIZE,), dtype=jnp.float32)


class PointGoalJax(_TimedBoxEnv):
    """obs: point x, y, point vx, vy, goal x, y; action: a force in [-1, 1]^2."""

    OBS_SIZE, OBS_BOUND, ACTION_SIZE = 6, 1.0, 2

    def step_env(self, key: jax.Array, state: PointState, action: Any, params: PointParams):
        force = jnp.clip(jnp.asarray(action, jnp.float32).reshape(2), -1.0, 1.0)
        speed = jnp.clip(0.95 * state.speed + DT * force, -1.0, 1.0)
        point = jnp.clip(state.point + DT * speed, -1.0, 1.0)
        state = PointState(point=point, speed=speed, goal=state.goal, time=state.time + 1)
        return self.transition(state, -jnp.linalg.norm(point - state.goal), params)

    def reset_env(self, key: jax.Array, params: PointParams):
        point_key, goal_key = jax.random.split(key)
        state = PointState(point=jax.random.uniform(point_key, (2,), minval=-0.8, maxval=0.8),
                           speed=jnp.zeros(2), goal=jax.random.uniform(goal_key, (2,), minval=-0.8, maxval=0.8),
                           time=0)
        return self.get_obs(state), state

    def get_obs(self, state: PointState, params: PointParams | None = None, key: Any = None) -> jax.Array:
        return jnp.concatenate([state.point, state.speed, state.goal]).astype(jnp.float32)


@struct.dataclass
class HeadingState(environment.EnvState):
    heading: jax.Array
    turn: jax.Array
    target: jax.Array
    time: int


class HeadingJax(_TimedBoxEnv):
    """obs: cos(psi), sin(psi), turn rate, target heading; action: a torque in [-1, 1]."""

    OBS_SIZE, OBS_BOUND, ACTION_SIZE = 4, float(jnp.pi), 1

    def step_env(self, key: jax.Array, state: HeadingState, action: Any, params: PointParams):
        torque = jnp.clip(jnp.asarray(action, jnp.float32).reshape(-1)[0], -1.0, 1.0)
        turn = jnp.clip(0.9 * state.turn + 3.0 * DT * torque, -2.0, 2.0)
        moved = state.heading + DT * turn
        heading = jnp.arctan2(jnp.sin(moved), jnp.cos(moved))
        state = HeadingState(heading=heading, turn=turn, target=state.target, time=state.time + 1)
        error = jnp.arctan2(jnp.sin(heading - state.target), jnp.cos(heading - state.target))
        return self.transition(state, -jnp.abs(error), params)

    def reset_env(self, key: jax.Array, params: PointParams):
        heading_key, target_key = jax.random.split(key)
        state = HeadingState(heading=jax.random.uniform(heading_key, (), minval=-jnp.pi, maxval=jnp.pi),
                             turn=jnp.zeros(()), target=jax.random.uniform(target_key, (), minval=-jnp.pi, maxval=jnp.pi),
                             time=0)
        return self.get_obs(state), state

    def get_obs(self, state: HeadingState, params: PointParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([jnp.cos(state.heading), jnp.sin(state.heading), state.turn, state.target]).astype(jnp.float32)
