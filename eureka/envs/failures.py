"""Telling an environment's own failure from a reward's: an error whose nearest frame is in the
user's env module is the environment's (the run stops), not the candidate's."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

ENV_FAILURE = "the environment failed: "  # how a training job marks an error that is the env's


def training_failure(exc: BaseException, reward_file: str, env_module: str | None) -> str | None:
    """The error of a training run that failed inside the env's own code (not in the reward), marked
    with ENV_FAILURE; None when the reward's code is nearer to the error, or there is no user module."""
    module = sys.modules.get(env_module.split(".", 1)[0]) if env_module else None
    origin = getattr(module, "__file__", None)
    if not origin:
        return None
    env_root = str(Path(origin).parent if Path(origin).name == "__init__.py" else Path(origin))
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).name == Path(reward_file).name:
            return None
        if frame.filename == env_root or frame.filename.startswith(env_root.rstrip("/") + "/"):
            return ENV_FAILURE + describe_failure(exc)
    return None


def env_module(task) -> str | None:
    """The user's module the env comes from: the `module` of a `module:Class` id, else the first
    env.register module (None for envs of installed libraries)."""
    if ":" in task.env.id:
        return task.env.id.split(":", 1)[0]
    return task.env.register_modules[0] if task.env.register_modules else None


def describe_failure(exc: BaseException) -> str:
    """The exception and the last frames of its traceback (where in the env code it happened)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "".join(f"\n  {Path(f.filename).name}:{f.lineno}: {f.line}" for f in frames if f.line)
    return f"{type(exc).__name__}: {exc}{where}"
