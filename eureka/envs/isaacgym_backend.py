"""The isaacgym backend: IsaacGymEnvs ``VecTask`` classes named in a task file (``module:Class``).

What eureka does for such a task: the task file is read and checked; the env's source reaches
the prompt without its reward (``compute_reward``, the ``torch.jit.script`` reward function and
the ``rew_buf`` writes: eureka.design.env_source), read from the file without importing it
(importing an Isaac task imports Isaac Gym, which needs a GPU and must come before torch);
`eureka.envs.isaacgym_reward` puts a reward into the task's ``compute_reward``; ``eureka export``
writes that form. What it does not do: build, probe, train or evaluate an Isaac Gym env inside
its own loop (no sandboxed Isaac Gym jobs exist), so ``eureka check`` and ``eureka run`` stop at
once (exit 2) with `unavailable_reason`. docs/isaacgym.md says how to train the reward with
IsaacGymEnvs where Isaac Gym is installed.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.user import EnvCodeError

if TYPE_CHECKING:
    from eureka.task import EnvSpec

DOCS = "docs/isaacgym.md"
INSTALL = ("Isaac Gym is not on PyPI: download Isaac Gym Preview 4 from NVIDIA "
           "(https://developer.nvidia.com/isaac-gym; it needs an NVIDIA GPU and driver), run "
           "`pip install -e isaacgym/python`, clone IsaacGymEnvs and `pip install -e IsaacGymEnvs`, then "
           "`pip install 'eureka[isaacgym]'`")


class IsaacGymUnavailable(EnvCodeError):
    """An isaacgym task asked eureka for something it cannot do here. The message is for the user
    (an EnvCodeError: what handles an env that cannot be built handles this too)."""


def isaacgym_installed() -> bool:
    """Whether `import isaacgym` would find Isaac Gym (looked up, not imported: importing it loads
    CUDA and must happen before torch). isaacgym-stubs alone does not count: it only types it."""
    try:
        return importlib.util.find_spec("isaacgym") is not None
    except (ImportError, ValueError):
        return False


def unavailable_reason() -> str:
    """Why `eureka check` / `eureka run` cannot go on with an isaacgym task on this machine."""
    if not isaacgym_installed():
        return (f"the isaacgym backend needs Isaac Gym, which is not installed here (no module named "
                f"'isaacgym'). {INSTALL}. See {DOCS}")
    return ("Isaac Gym is installed, but eureka's search loop does not run Isaac Gym tasks itself: it has no "
            "sandboxed env check, critic probe, trainer (rl_games) or evaluation job for them. Train a reward "
            "with IsaacGymEnvs through eureka's adapter (eureka.envs.isaacgym_reward; `eureka export` writes "
            f"it beside a reward) as {DOCS} shows")


def space_info(spec: "EnvSpec") -> SpaceInfo:
    raise IsaacGymUnavailable(f"{spec.id}: {unavailable_reason()}")


def sample_transitions(spec: "EnvSpec", count: int = 512, seed: int = 0) -> Transitions:
    raise IsaacGymUnavailable(f"{spec.id}: {unavailable_reason()}")
