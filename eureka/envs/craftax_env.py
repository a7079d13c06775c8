"""Craftax environments (``craftax/<name>``, e.g. ``craftax/Craftax-Classic-Symbolic-v1``)
as gymnax environments.

Not through rejax's compat layer: its params wrapper recurses forever when rejax's
``PPO.create`` deep-copies it (rejax 0.1.3, Python 3.11). `CraftaxEnv` is a thin adapter
instead: craftax's own params, gymnax's spaces (craftax's spaces are its own copies of
gymnax's classes, which rejax does not recognise: it would build a continuous policy for
17 discrete actions), and an `is_terminal` that leaves out the time limit.
"""

from __future__ import annotations

from typing import Any

from craftax.craftax_env import make_craftax_env_from_name
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

_NO_TIME_LIMIT = 2**30


class CraftaxEnv(Environment):
    """A craftax env (without auto-reset) behind gymnax's interface and spaces."""

    is_terminal_task_only = True  # `split_done`: is_terminal leaves out the time limit

    def __init__(self, env: Any):
        super().__init__()
        self.env = env

    @property
    def default_params(self):
        return self.env.default_params

    def step_env(self, key, state, action, params):
        return self.env.step_env(key, state, action, params)

    def reset_env(self, key, params):
        return self.env.reset_env(key, params)

    def get_obs(self, state, params=None, key=None):
        return self.env.get_obs(state)

    def is_terminal(self, state, params):
        """Death or lava; not the time limit (`params.max_timesteps`)."""
        return self.env.is_terminal(state, params.replace(max_timesteps=_NO_TIME_LIMIT))

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(self.env.action_space(params).n)

    def observation_space(self, params) -> spaces.Box:
        space = self.env.observation_space(params)
        return spaces.Box(space.low, space.high, space.shape, space.dtype)


def make_craftax_env(name: str, kwargs: dict[str, Any], max_episode_steps: int | None):
    """The env (no auto-reset) and its params; `kwargs` replace fields of craftax's
    `EnvParams` (e.g. ``day_length``), `max_episode_steps` its ``max_timesteps``."""
    env = CraftaxEnv(make_craftax_env_from_name(name, auto_reset=False))
    updates = dict(kwargs)
    if max_episode_steps:
        updates["max_timesteps"] = max_episode_steps
    params = env.default_params.replace(**updates) if updates else env.default_params
    return env, params
