"""Brax environments (``brax/<name>``) as gymnax environments: rejax's adapter, with task
termination told apart from the episode-length limit."""

from __future__ import annotations

from typing import Any

from brax import envs as brax_envs
from rejax.compat.brax2gymnax import Brax2GymnaxEnv

DEFAULT_EPISODE_LENGTH = 1000


class BraxEnv(Brax2GymnaxEnv):
    """rejax's brax adapter whose `is_terminal` is task termination only.

    Brax's ``done`` is also set when the episode length runs out; its
    ``info["truncation"]`` marks those steps. `split_done` needs the difference.
    """

    is_terminal_task_only = True  # for `split_done`

    def is_terminal(self, state, params=None):
        return state.done.astype(bool) & (state.info["truncation"] == 0)


def make_brax_env(name: str, kwargs: dict[str, Any], max_episode_steps: int | None):
    """The env (no auto-reset) and its params; `kwargs` go to the brax env's constructor
    (e.g. ``backend="positional"``, ``ctrl_cost_weight=0.5``)."""
    known = sorted(brax_envs._envs)  # brax's registry; it has no public listing
    if name not in known:
        raise ValueError(f"brax has no env {name!r}; it has: {', '.join(known)}")
    env = BraxEnv(brax_envs.create(
        name, episode_length=max_episode_steps or DEFAULT_EPISODE_LENGTH, auto_reset=False, **kwargs
    ))
    return env, env.default_params
