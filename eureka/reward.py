"""The reward interface every generated, baseline and exported reward implements.

A reward is a module defining::

    def compute_reward(obs, action, next_obs, terminated):
        ...
        return total, {"name": component, ...}

All arguments are **batched** over the N environments of a vector env:

- ``obs``, ``next_obs``: float arrays of shape (N, obs_dim), before and after the step
- ``action``: shape (N,) for discrete actions, (N, act_dim) for continuous ones
- ``terminated``: bool array of shape (N,), True where the step ended the episode
  (a terminal state of the task, not a time-limit truncation)

It returns ``total`` of shape (N,) and a dict of named components, each of shape (N,).
The total is what the policy is trained on; components are logged and reflected upon.

The array module is the backend's: ``numpy`` (imported as ``np``) for the gymnasium
backend, ``jax.numpy`` (imported as ``jnp``) for the jax backend. The env's ``info`` is
deliberately not an argument: its content differs between backends, and a reward that
reads it would not move from one backend to the other.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable

REWARD_FUNCTION = "compute_reward"
REWARD_PARAMETERS = ("obs", "action", "next_obs", "terminated")

RewardFn = Callable[[Any, Any, Any, Any], tuple[Any, dict[str, Any]]]


def load_reward_module(path: Path, module_name: str | None = None) -> types.ModuleType:
    """Import a reward file as a fresh module (never cached under a shared name)."""
    name = module_name or f"eureka_reward_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import reward file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_reward(path: Path) -> RewardFn:
    """Return the ``compute_reward`` function of a reward file."""
    module = load_reward_module(path)
    fn = getattr(module, REWARD_FUNCTION, None)
    if not callable(fn):
        raise AttributeError(f"{path} defines no function {REWARD_FUNCTION}()")
    return fn


def describe_exception(exc: BaseException, reward_file: str | None = None) -> str:
    """The exception with the traceback lines that point into the reward file only."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [
        f"  line {f.lineno}: {f.line}"
        for f in frames
        if reward_file is None or Path(f.filename).name == Path(reward_file).name
    ]
    where = ("\n" + "\n".join(lines[-3:])) if lines else ""
    return f"{type(exc).__name__}: {exc}{where}"
