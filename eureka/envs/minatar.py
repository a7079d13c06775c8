"""Gymnax's MinAtar games (``Breakout-MinAtar``, ``SpaceInvaders-MinAtar``, ...) for the
jax backend.

Two differences from the classic-control envs need an adapter:

- observations are images, (10, 10, channels) of 0/1: a reward indexes ``obs[:, i]`` of a
  flat row and rejax's policy is a dense network, so the adapter flattens them, row by row,
  to ``(row * 10 + column) * channels + channel``;
- ``step_env`` writes the time limit into ``state.terminal``, so ``is_terminal`` cannot tell
  losing from running out of time: the adapter's `is_terminal` is the game ending before
  the time limit (``is_terminal_task_only``, as for brax and craftax).
"""

from __future__ import annotations

import jax.numpy as jnp
from gymnax.environments import spaces
from gymnax.environments.environment import Environment


def is_minatar(env_id: str) -> bool:
    return env_id.endswith("-MinAtar")


class MinAtarEnv(Environment):
    """A gymnax MinAtar game with flat float observations and task-only termination."""

    is_terminal_task_only = True  # `split_done`: is_terminal leaves out the time limit

    def __init__(self, env: Environment):
        super().__init__()
        self.env = env
        self.image_shape = tuple(env.observation_space(env.default_params).shape)

    @property
    def default_params(self):
        return self.env.default_params

    def step_env(self, key, state, action, params):
        obs, state, reward, done, info = self.env.step_env(key, state, action, params)
        return self.flat(obs), state, reward, done, info

    def reset_env(self, key, params):
        obs, state = self.env.reset_env(key, params)
        return self.flat(obs), state

    def get_obs(self, state, params=None, key=None):
        return self.flat(self.env.get_obs(state))

    def is_terminal(self, state, params):
        """The game ended (ball lost, cannon hit, ...) before the time limit."""
        return jnp.logical_and(state.terminal, state.time < params.max_steps_in_episode)

    def flat(self, obs):
        return jnp.reshape(obs, (-1,)).astype(jnp.float32)

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def action_space(self, params=None) -> spaces.Discrete:
        return self.env.action_space(params)

    def observation_space(self, params) -> spaces.Box:
        size = 1
        for n in self.image_shape:
            size *= n
        return spaces.Box(0.0, 1.0, (size,), jnp.float32)
