"""`eureka init`: a task file written from the environment itself, to edit rather than to write.

The env is built on the host (it is the user's own code) and its spaces give one observation
layout line per column with its bounds (the keys of a Dict space as names), the action text, the
source to show the designer, and the backend (gymnax ids run on jax). What the spaces cannot say
(what a column means, what an action does, the task in words) is marked TODO, and `eureka check`
refuses a file that still has one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

TODO = "TODO"
MAX_COLUMN_LINES = 16  # a space part over more columns gets one block line (a map, an image)


@dataclass(frozen=True)
class LayoutPart:
    """Consecutive observation columns from one part of the space."""

    name: str | None  # a Dict key; None for a plain Box
    shape: tuple[int, ...]
    low: np.ndarray  # per column (flattened), -inf/inf where unbounded
    high: np.ndarray
    one_hot: int | None = None  # a Discrete part: n columns, one of them 1


def backend_for(env_id: str) -> str:
    """jax for gymnax ids and brax/craftax/xminigrid families, else gymnasium."""
    if env_id.startswith(("brax/", "craftax/", "xminigrid/")):
        return "jax"
    if ":" in env_id:
        return "gymnasium"
    try:
        import gymnax
    except ImportError:
        return "gymnasium"
    return "jax" if env_id in gymnax.registered_envs else "gymnasium"


def task_name(env_id: str) -> str:
    stem = env_id.split(":", 1)[0].split("/")[-1].split(".")[-1]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "my_task"


def _bounds(low: Any, high: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    size = int(np.prod(shape)) if shape else 1
    return (np.broadcast_to(np.asarray(low, dtype=np.float64), shape).reshape(size),
            np.broadcast_to(np.asarray(high, dtype=np.float64), shape).reshape(size))


def gymnasium_parts(space: Any, name: str | None = None) -> list[LayoutPart]:
    """Layout parts in the order gymnasium's flatten lays them out."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        return [part for key, sub in space.spaces.items() for part in gymnasium_parts(sub, _join(name, key))]
    if isinstance(space, gym.spaces.Tuple):
        return [part for index, sub in enumerate(space.spaces)
                for part in gymnasium_parts(sub, _join(name, str(index)))]
    if isinstance(space, gym.spaces.Discrete):
        n = int(space.n)
        return [LayoutPart(name, (n,), np.zeros(n), np.ones(n), one_hot=n)]
    if isinstance(space, gym.spaces.Box):
        return [LayoutPart(name, tuple(space.shape), *_bounds(space.low, space.high, tuple(space.shape)))]
    size = int(gym.spaces.flatdim(space))
    return [LayoutPart(name, (size,), np.full(size, -np.inf), np.full(size, np.inf))]


def _join(prefix: str | None, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


UNBOUNDED = 1e30  # float32's largest value stands for "no bound" in many spaces


def range_text(low: float, high: float) -> str:
    if not (abs(low) < UNBOUNDED and abs(high) < UNBOUNDED):
        return "unbounded"
    return f"in [{low:.6g}, {high:.6g}]"


def layout_lines(parts: list[LayoutPart]) -> list[str]:
    """One line per column (a block line for a part over MAX_COLUMN_LINES columns)."""
    lines, column = [], 0
    for part in parts:
        size = len(part.low)
        label = part.name
        if part.one_hot is not None:
            lines.append(f"obs[:, {column}:{column + size}]: {label or TODO + ': name this'}, one-hot over "
                         f"{part.one_hot} values")
        elif size > MAX_COLUMN_LINES:
            same = np.all(part.low == part.low[0]) and np.all(part.high == part.high[0])
            bounds = f"each {range_text(part.low[0], part.high[0])}" if same else "bounds vary"
            what = label or f"{TODO}: what this block is"
            lines.append(f"obs[:, {column}:{column + size}]: {what} (shape {part.shape}), {bounds}")
        else:
            for offset in range(size):
                if label is None:
                    what = f"{TODO}: what column {column + offset} is (name, unit)"
                else:
                    what = label if size == 1 else f"{label} {offset}"
                lines.append(f"obs[:, {column + offset}]: {what}, "
                             f"{range_text(part.low[offset], part.high[offset])}")
        column += size
    return lines


def action_text(space: Any) -> str:
    n = getattr(space, "n", None)
    if n is not None:
        return f"an integer in 0..{int(n) - 1}. {TODO}: what each action does (0 ..., 1 ...)"
    shape = tuple(getattr(space, "shape", ()) or (1,))
    low, high = _bounds(space.low, space.high, shape)
    same = np.all(low == low[0]) and np.all(high == high[0])
    bounds = f"each {range_text(low[0], high[0])}" if same else "per entry " + ", ".join(
        range_text(lo, hi) for lo, hi in zip(low, high))
    return f"a vector of {len(low)} float{'s' if len(low) > 1 else ''}, {bounds}. {TODO}: what each entry does"


@dataclass(frozen=True)
class EnvFacts:
    """What `eureka init` learns by building the env."""

    env_id: str
    backend: str
    parts: list[LayoutPart]
    action: str
    source: str | None
    max_episode_steps: int | None


def inspect_env(env_id: str, backend: str | None = None) -> EnvFacts:
    """Build the env (on the host: it is the user's own code) and read its spaces."""
    from eureka.task import EnvSpec

    backend = backend or backend_for(env_id)
    spec = EnvSpec(backend=backend, id=env_id)
    if backend == "jax":
        from eureka.envs.gymnax_backend import make_env

        env, params = make_env(spec)
        space = env.observation_space(params)
        shape = tuple(space.shape)
        parts = [LayoutPart(None, shape, *_bounds(getattr(space, "low", -np.inf), getattr(space, "high", np.inf),
                                                   shape))]
        source = f"{type(env).__module__}:{type(env).__qualname__}.step_env"
        steps = getattr(params, "max_steps_in_episode", None)
        return EnvFacts(env_id, backend, parts, action_text(env.action_space(params)), source,
                        int(steps) if steps is not None else None)
    import gymnasium as gym

    from eureka.envs.gymnasium_backend import make_env

    env = make_env(spec)
    try:
        raw = env.env.observation_space if isinstance(env, gym.wrappers.FlattenObservation) else env.observation_space
        parts = gymnasium_parts(raw)
        action = action_text(env.action_space)
        steps = env.spec.max_episode_steps if env.spec is not None else None
    finally:
        env.close()
    return EnvFacts(env_id, backend, parts, action, _gymnasium_source(env_id, env), steps)


def _gymnasium_source(env_id: str, env: Any) -> str | None:
    cls = type(env.unwrapped)
    if cls.__module__ == "__main__":
        return None
    return f"{cls.__module__}:{cls.__qualname__}.step"


def render_task(facts: EnvFacts, name: str | None = None) -> str:
    """The task file's text: valid YAML with comments, TODO where a person must write."""
    q = json.dumps  # a JSON string is a YAML string
    layout = "\n".join(f"    {line}" for line in layout_lines(facts.parts))
    steps = f"\n  max_episode_steps: {facts.max_episode_steps}" if facts.max_episode_steps else ""
    source = f"\n  source: {q(facts.source)}   # shown to the designer" if facts.source else (
        "\n  # source: module:Class.step   # the env's code to show the designer")
    return f"""\
# Written by `eureka init {facts.env_id}`. Edit what says TODO (eureka check refuses it), give the
# observation lines units and meanings, then: eureka check <this file>; eureka run <this file>.
name: {name or task_name(facts.env_id)}
description: {q(f"{TODO}: say in words what the agent should achieve, and how an episode ends")}
env:
  backend: {facts.backend}
  id: {q(facts.env_id)}{steps}
  # register: my_pkg        # a module to import first, where `id` is a registered name
  # paths: [assets]         # folders the env reads, shown read-only in the sandbox
context:{source}
  # one line per column (obs[:, i]: name, unit, range): the designer sees these names and ranges
  observation: |
{layout}
  action: {q(facts.action)}
fitness:
  metric: episode_return    # the env's own return; or episode_length, or success_rate with:
  # metric: success_rate
  # success: terminated     # numpy over obs, next_obs, terminated, truncated, env_reward, e.g.
  #                         # "terminated & (next_obs[:, 0] > 0.5)"
  # target: 0.9             # the fitness that counts as solved
# baselines:                # rewards written by hand, trained with --with-baselines:
#   human: rewards/human.py   # def compute_reward(obs, action, next_obs, terminated) -> (total, components)
#   sparse: rewards/sparse.py
training:
  timesteps: 100000
  num_envs: 8
  seeds: [0]
search:
  iterations: 2
  samples: 4
"""


def todo_fields(data: Any, where: str = "") -> list[str]:
    """Fields of a loaded task that still hold a TODO (comments are gone once loaded)."""
    if isinstance(data, dict):
        return [f for key, value in data.items() for f in todo_fields(value, f"{where}.{key}" if where else str(key))]
    if isinstance(data, list):
        return [f for index, value in enumerate(data) for f in todo_fields(value, f"{where}[{index}]")]
    return [where] if isinstance(data, str) and TODO in data else []
