"""Brax and Craftax environments as gymnax environments.

An env id ``brax/<name>`` (``brax/ant``, ``brax/halfcheetah``, ...) or ``craftax/<name>``
(``craftax/Craftax-Classic-Symbolic-v1``) makes one of these; the rest of the jax backend
(transitions, the trace check, the population trainer) treats it like any gymnax env.

Brax comes through rejax's compat layer (`eureka.envs.brax_env`), Craftax through a thin
adapter of ours (`eureka.envs.craftax_env` says why). In both, `is_terminal` reports task
termination only (``is_terminal_task_only``), so `split_done` tells it from the time limit.

Both are made without auto-reset: the backend keeps the true next observation and resets
itself. Their resets are costly (a brax reset is a physics forward pass, a craftax reset
generates a world), so the population trainer draws them ahead of time (`costly_reset`).
"""

from __future__ import annotations

from typing import Any

from gymnax.environments.environment import Environment

from eureka.task import EnvSpec

FAMILIES = ("brax", "craftax")


def family(env_id: str) -> str | None:
    """``"brax"`` or ``"craftax"`` for an id of that family, else None (a gymnax id)."""
    prefix, slash, _ = env_id.partition("/")
    return prefix if slash and ":" not in env_id and prefix in FAMILIES else None


def costly_reset(spec: EnvSpec) -> bool:
    """Whether resetting every step (then selecting where an episode ended) is too slow."""
    return family(spec.id) is not None


def make_compat_env(spec: EnvSpec) -> tuple[Environment, Any]:
    """The env and params of a ``brax/...`` or ``craftax/...`` id.

    Brax: `spec.kwargs` go to the env's constructor (e.g. ``backend: positional``,
    ``ctrl_cost_weight``), `spec.max_episode_steps` is the episode length (default 1000).
    Craftax: `spec.kwargs` replace fields of its `EnvParams` (e.g. ``day_length``), except
    ``goal`` (an achievement, e.g. ``make_wood_pickaxe``, whose unlocking ends the episode),
    `spec.max_episode_steps` its ``max_timesteps`` (default 10000).
    """
    name = spec.id.partition("/")[2]
    if family(spec.id) == "brax":
        from eureka.envs.brax_env import make_brax_env

        return make_brax_env(name, spec.kwargs, spec.max_episode_steps)
    if family(spec.id) == "craftax":
        from eureka.envs.craftax_env import make_craftax_env

        return make_craftax_env(name, spec.kwargs, spec.max_episode_steps)
    raise ValueError(f"{spec.id!r} is not a brax/<name> or craftax/<name> id")
