"""Brax, Craftax and xminigrid environments as gymnax environments.

An env id ``brax/<name>`` (``brax/ant``, ``brax/halfcheetah``, ...), ``craftax/<name>``
(``craftax/Craftax-Classic-Symbolic-v1``) or ``xminigrid/<name>``
(``xminigrid/MiniGrid-DoorKey-8x8``) makes one of these; the rest of the jax backend
(transitions, the trace check, the population trainer) treats it like any gymnax env.

Brax comes through rejax's compat layer (`eureka.envs.brax_env`), Craftax and xminigrid
through thin adapters of ours (`eureka.envs.craftax_env` says why; `eureka.envs.minigrid`
flattens the gridworld into named columns). In all, `is_terminal` reports task termination
only (``is_terminal_task_only``), so `split_done` tells it from the time limit.

All are made without auto-reset: the backend keeps the true next observation and resets
itself. Brax and Craftax resets are costly (a brax reset is a physics forward pass, a
craftax reset generates a world), so the population trainer draws them ahead of time
(`costly_reset`); an xminigrid reset is cheap (~330k vmapped resets and steps a second).
"""

from __future__ import annotations

from typing import Any

from gymnax.environments.environment import Environment

from eureka.task import EnvSpec

FAMILIES = ("brax", "craftax", "xminigrid")
COSTLY_RESET = ("brax", "craftax")


def family(env_id: str) -> str | None:
    """``"brax"``, ``"craftax"`` or ``"xminigrid"`` for an id of that family, else None (a
    gymnax id)."""
    prefix, slash, _ = env_id.partition("/")
    return prefix if slash and ":" not in env_id and prefix in FAMILIES else None


def costly_reset(spec: EnvSpec) -> bool:
    """Whether resetting every step (then selecting where an episode ended) is too slow."""
    return family(spec.id) in COSTLY_RESET


def make_compat_env(spec: EnvSpec) -> tuple[Environment, Any]:
    """The env and params of a ``brax/...``, ``craftax/...`` or ``xminigrid/...`` id.

    Brax: `spec.kwargs` go to the env's constructor (e.g. ``backend: positional``,
    ``ctrl_cost_weight``), `spec.max_episode_steps` is the episode length (default 1000).
    Craftax: `spec.kwargs` replace fields of its `EnvParams` (e.g. ``day_length``), except
    ``goal`` (an achievement, e.g. ``make_wood_pickaxe``, whose unlocking ends the episode),
    `spec.max_episode_steps` its ``max_timesteps`` (default 10000).
    xminigrid: `spec.kwargs` replace fields of its `EnvParams` (``view_size``, 0 for no view
    block), `spec.max_episode_steps` its ``max_steps`` (default 10 x the grid's cells).
    """
    name = spec.id.partition("/")[2]
    if family(spec.id) == "brax":
        from eureka.envs.brax_env import make_brax_env

        return make_brax_env(name, spec.kwargs, spec.max_episode_steps)
    if family(spec.id) == "craftax":
        from eureka.envs.craftax_env import make_craftax_env

        return make_craftax_env(name, spec.kwargs, spec.max_episode_steps)
    if family(spec.id) == "xminigrid":
        from eureka.envs.minigrid import make_minigrid_env

        return make_minigrid_env(name, spec.kwargs, spec.max_episode_steps)
    raise ValueError(f"{spec.id!r} is not a brax/<name>, craftax/<name> or xminigrid/<name> id")
