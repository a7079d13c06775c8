"""Craftax environments (``craftax/<name>``, e.g. ``craftax/Craftax-Classic-Symbolic-v1``)
as gymnax environments.

Not through rejax's compat layer: its params wrapper recurses forever when rejax's
``PPO.create`` deep-copies it (rejax 0.1.3, Python 3.11). `CraftaxEnv` is a thin adapter
instead: craftax's own params, gymnax's spaces (craftax's spaces are its own copies of
gymnax's classes, which rejax does not recognise: it would build a continuous policy for
17 discrete actions), and an `is_terminal` that leaves out the time limit.

A goal (env kwarg ``goal``, an achievement's name such as ``make_wood_pickaxe``) turns the
open game into a task with an end: the episode terminates on the step that unlocks it. The
world, its rules and the env's own reward stay craftax's.
"""

from __future__ import annotations

from typing import Any

from craftax.craftax_env import make_craftax_env_from_name
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

_NO_TIME_LIMIT = 2**30
GOAL_KWARG = "goal"


class CraftaxEnv(Environment):
    """A craftax env (without auto-reset) behind gymnax's interface and spaces; with a
    `goal` (an achievement's index), episodes also end when that achievement is unlocked."""

    is_terminal_task_only = True  # `split_done`: is_terminal leaves out the time limit

    def __init__(self, env: Any, goal: int | None = None):
        super().__init__()
        self.env = env
        self.goal = goal

    @property
    def default_params(self):
        return self.env.default_params

    def step_env(self, key, state, action, params):
        obs, state, reward, done, info = self.env.step_env(key, state, action, params)
        if self.goal is not None:
            done = done | state.achievements[self.goal]
        return obs, state, reward, done, info

    def reset_env(self, key, params):
        return self.env.reset_env(key, params)

    def get_obs(self, state, params=None, key=None):
        return self.env.get_obs(state)

    def is_terminal(self, state, params):
        """Death, lava or the goal; not the time limit (`params.max_timesteps`)."""
        ended = self.env.is_terminal(state, params.replace(max_timesteps=_NO_TIME_LIMIT))
        if self.goal is not None:
            ended = ended | state.achievements[self.goal]
        return ended

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


def achievement_index(name: str, goal: str) -> int:
    """The index of achievement `goal` (case-insensitive, e.g. ``make_wood_pickaxe``) in the
    achievement flags of craftax env `name` (Craftax-Classic and Craftax have different lists)."""
    if "Classic" in name:
        from craftax.craftax_classic.constants import Achievement
    else:
        from craftax.craftax.constants import Achievement
    try:
        return Achievement[str(goal).upper()].value
    except KeyError:
        known = ", ".join(a.name.lower() for a in Achievement)
        raise ValueError(f"{name} has no achievement {goal!r} (env kwarg {GOAL_KWARG!r}); "
                         f"its achievements: {known}") from None


def make_craftax_env(name: str, kwargs: dict[str, Any], max_episode_steps: int | None):
    """The env (no auto-reset) and its params. `kwargs` replace fields of craftax's
    `EnvParams` (e.g. ``day_length``), except ``goal``: an achievement whose unlocking ends
    the episode. `max_episode_steps` replaces ``max_timesteps``."""
    updates = dict(kwargs)
    goal = updates.pop(GOAL_KWARG, None)
    base = make_craftax_env_from_name(name, auto_reset=False)
    env = CraftaxEnv(base, None if goal is None else achievement_index(name, goal))
    if max_episode_steps:
        updates["max_timesteps"] = max_episode_steps
    params = env.default_params.replace(**updates) if updates else env.default_params
    return env, params
