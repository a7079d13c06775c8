"""A eureka reward inside an Isaac Gym ``VecTask`` (IsaacGymEnvs), the way that framework expects.

Self-contained: this module imports only the standard library, numpy and torch (Isaac Gym's
types only for the type checker), so ``eureka export`` copies it unchanged next to an
exported reward (``isaac_reward.py``) and it runs where eureka is not installed.

A eureka reward is ``compute_reward(obs, action, next_obs, terminated) -> (total, components)``
over a batch of N environments (eureka/reward.py). Written with torch it runs on the task's
tensors, on the task's device; written with numpy (eureka's gymnasium form) its inputs are
copied to the CPU and its outputs back, once per step.

`EurekaRewardMixin` goes first in the bases of a VecTask subclass (`with_reward` builds one):

- ``compute_reward`` first calls the task's own ``compute_reward``, so the task keeps its own
  resets (``reset_buf``) and its own reward, which is kept aside as the ground truth; then the
  eureka reward is computed and written into ``self.rew_buf[:]``, what the policy trains on.
- ``obs`` is the observation the policy acted on (``obs_buf`` at the previous step's reward), and
  ``obs = next_obs`` for an env reset since then (IsaacGymEnvs applies the action first and resets
  inside the step, so the pair would span two episodes); ``next_obs`` is ``obs_buf`` as the task's
  ``compute_observations`` left it (IsaacGymEnvs' tasks compute observations, then the reward);
  ``action`` is what ``pre_physics_step`` received; ``terminated`` is ``reset_buf`` without the
  time-outs (``progress_buf >= max_episode_length - 1``, as ``VecTask.step`` defines them).
- ``extras`` (what ``VecTask.step`` returns as infos) gets, every step:

  - ``extras["gt_reward"]``: the task's own reward, per env, shape (N,);
  - ``extras["reward_components"][name]``: each component, per env, shape (N,);
  - ``extras["episode_cumulative"]["eureka/total"]``, ``["eureka/gt_reward"]`` and
    ``["eureka/<name>"]``: the same per-env tensors, which IsaacGymEnvs' ``RLGPUAlgoObserver``
    sums per env and logs per finished episode (mean, min, max) to TensorBoard.

  Per env, not means over envs: a sum per episode needs the per-env value (which env ended is in
  ``reset_buf``), and a mean over envs is one ``.mean()`` away.

A reward that raises, returns anything but ``(total, {name: value})``, a shape other than (N,)
or a value that is not finite raises `RewardFailure`: that candidate's training fails; the task's
buffers keep the task's own values and its reset logic is untouched. The inputs the reward gets
are copies, so it cannot change the task's buffers.

Example (``Ant`` from IsaacGymEnvs; Isaac Gym must be imported before torch)::

    import isaacgym  # noqa: F401
    from isaacgymenvs.tasks.ant import Ant
    from isaac_reward import load_isaac_reward, with_reward

    EurekaAnt = with_reward(Ant, load_isaac_reward("reward.py"))
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal, TypeVar, cast

import numpy as np
import torch

if TYPE_CHECKING:  # Isaac Gym's types come from isaacgym-stubs; Isaac Gym itself is not needed here
    from isaacgym import gymapi

ArrayModule = Literal["torch", "numpy"]
RewardFn = Callable[[Any, Any, Any, Any], Any]

GT_REWARD_KEY = "gt_reward"
COMPONENTS_KEY = "reward_components"
EPISODE_SUMS_KEY = "episode_cumulative"  # IsaacGymEnvs' RLGPUAlgoObserver sums these per episode
EPISODE_PREFIX = "eureka/"


class RewardFailure(ValueError):
    """The eureka reward failed on this step: the candidate's failure, not the task's."""


@dataclass(frozen=True)
class IsaacReward:
    """A eureka reward function and the array module it is written with."""

    fn: RewardFn
    array_module: ArrayModule
    origin: str = "compute_reward"  # where it came from, for messages


@dataclass(frozen=True)
class RewardStep:
    """One step of the eureka reward, checked: tensors of shape (N,) on the task's device."""

    total: torch.Tensor
    components: dict[str, torch.Tensor]


def infer_array_module(module: types.ModuleType) -> ArrayModule:
    """``torch`` when the reward module imported torch, else ``numpy``; jax is refused."""
    imported = {value.__name__.split(".")[0] for value in vars(module).values() if isinstance(value, types.ModuleType)}
    if "torch" in imported:
        return "torch"
    if "jax" in imported:
        raise ValueError(f"{module.__name__}: a jax reward cannot run in Isaac Gym; write it with torch or numpy")
    return "numpy"


def load_isaac_reward(path: str | Path, array_module: ArrayModule | None = None) -> IsaacReward:
    """The ``compute_reward`` of a reward file (imported by path, as a fresh module), with its
    array module (inferred from its imports unless given)."""
    path = Path(path)
    loader = importlib.machinery.SourceFileLoader(f"eureka_isaac_reward_{abs(hash(str(path.resolve())))}", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    if spec is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    fn = getattr(module, "compute_reward", None)
    if not callable(fn):
        raise AttributeError(f"{path} defines no function compute_reward()")
    return IsaacReward(cast(RewardFn, fn), array_module or infer_array_module(module), str(path))


def evaluate_reward(reward: IsaacReward, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor,
                    terminated: torch.Tensor) -> RewardStep:
    """Call the reward on one batch and check what it returns. Raises RewardFailure."""
    count, device = int(obs.shape[0]), obs.device
    inputs: tuple[Any, ...] = (obs, action, next_obs, terminated)
    if reward.array_module == "numpy":
        inputs = tuple(value.detach().cpu().numpy() for value in inputs)
    try:
        with torch.no_grad():
            returned: object = reward.fn(*inputs)
    except Exception as exc:  # the reward's own error, whatever it is, is the candidate's failure
        raise RewardFailure(f"{reward.origin} raised {type(exc).__name__}: {exc}") from exc
    kind = type(returned).__name__
    pair = cast("tuple[object, ...]", returned) if isinstance(returned, tuple) else ()
    if not (len(pair) == 2 and isinstance(pair[1], dict)):
        raise RewardFailure(f"{reward.origin} must return (total, components dict), got {kind}")
    raw_total, raw_components = cast("tuple[object, dict[object, object]]", pair)
    total = _checked(reward, "total", raw_total, count, device)
    components: dict[str, torch.Tensor] = {}
    for name, value in raw_components.items():
        if not isinstance(name, str):
            raise RewardFailure(f"{reward.origin}: component names must be strings, got {name!r}")
        components[name] = _checked(reward, f"component {name!r}", value, count, device)
    return RewardStep(total, components)


def _checked(reward: IsaacReward, what: str, value: Any, count: int, device: torch.device) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value if isinstance(value, torch.Tensor) else np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise RewardFailure(f"{reward.origin}: {what} is not an array ({exc})") from None
    if tuple(tensor.shape) != (count,):
        raise RewardFailure(f"{reward.origin}: {what} has shape {tuple(tensor.shape)}, expected ({count},)")
    tensor = tensor.to(device=device, dtype=torch.float32)  # bools and integers too (0/1 flags)
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise RewardFailure(f"{reward.origin}: {what} is not finite in {bad} of {count} envs "
                            f"(e.g. {_first_bad(tensor)})")
    return tensor


def _first_bad(tensor: torch.Tensor) -> float:
    return float(tensor[~torch.isfinite(tensor)][0]) if tensor.numel() else math.nan


class VecTaskSurface:
    """The part of IsaacGymEnvs' ``VecTask`` the mixin touches (for the type checker only:
    isaacgymenvs has no type stubs; Isaac Gym's own types come from isaacgym-stubs)."""

    gym: gymapi.Gym
    sim: gymapi.Sim
    sim_params: gymapi.SimParams
    device: str
    num_envs: int
    num_actions: int
    max_episode_length: int | float
    obs_buf: torch.Tensor
    rew_buf: torch.Tensor
    reset_buf: torch.Tensor
    progress_buf: torch.Tensor
    extras: dict[str, Any]

    def pre_physics_step(self, actions: torch.Tensor) -> None:
        raise NotImplementedError

    def reset_idx(self, env_ids: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute_reward(self, *args: Any) -> None:
        raise NotImplementedError


if TYPE_CHECKING:
    _TaskBase = VecTaskSurface
else:
    _TaskBase = object


@dataclass
class _StepState:
    """What the mixin keeps between steps."""

    fresh: torch.Tensor  # (N,) bool: reset since the last reward (obs := next_obs there)
    obs: torch.Tensor | None = None  # obs_buf at the last reward: the obs the next action acts on
    actions: torch.Tensor | None = None  # what the last pre_physics_step received


class EurekaRewardMixin(_TaskBase):
    """Put first in a VecTask subclass's bases, with ``eureka_reward`` set (see `with_reward`)."""

    eureka_reward: ClassVar[IsaacReward]

    def _eureka_state(self) -> _StepState:
        state: _StepState | None = self.__dict__.get("_eureka_step_state")
        if state is None:
            fresh = torch.ones(self.reset_buf.shape[0], dtype=torch.bool, device=self.reset_buf.device)
            state = _StepState(fresh=fresh)
            self.__dict__["_eureka_step_state"] = state
        return state

    def pre_physics_step(self, actions: torch.Tensor) -> None:
        self._eureka_state().actions = actions.detach().clone()
        super().pre_physics_step(actions)

    def reset_idx(self, env_ids: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        self._eureka_state().fresh[torch.as_tensor(env_ids, device=self.reset_buf.device).long()] = True
        super().reset_idx(env_ids, *args, **kwargs)

    def compute_reward(self, *args: Any) -> None:
        """The task's own reward and resets, then the eureka reward into ``rew_buf``."""
        super().compute_reward(*args)
        state = self._eureka_state()
        gt_reward = self.rew_buf.detach().clone()
        next_obs = self.obs_buf.detach().clone()
        obs = next_obs if state.obs is None else torch.where(state.fresh[:, None], next_obs, state.obs)
        actions = state.actions
        if actions is None:
            actions = torch.zeros((next_obs.shape[0], self.num_actions), device=next_obs.device)
        actions = actions.to(next_obs.device)  # the policy's device (rl_device) may not be the sim's
        ended = self.reset_buf != 0
        limit = getattr(self, "max_episode_length", None)
        terminated = ended if limit is None else ended & (self.progress_buf < limit - 1)
        step = evaluate_reward(self.eureka_reward, obs.clone(), actions.clone(), next_obs.clone(), terminated.clone())
        self.rew_buf[:] = step.total.to(self.rew_buf.dtype)
        self._eureka_record(step, gt_reward)
        state.obs = next_obs
        state.fresh[:] = False

    def _eureka_record(self, step: RewardStep, gt_reward: torch.Tensor) -> None:
        self.extras[GT_REWARD_KEY] = gt_reward
        self.extras[COMPONENTS_KEY] = dict(step.components)
        sums = self.extras.setdefault(EPISODE_SUMS_KEY, {})
        sums[EPISODE_PREFIX + "total"] = step.total
        sums[EPISODE_PREFIX + GT_REWARD_KEY] = gt_reward
        for name, value in step.components.items():
            sums[EPISODE_PREFIX + name] = value


Task = TypeVar("Task")


def with_reward(task_class: type[Task], reward: IsaacReward, name: str | None = None) -> type[Task]:
    """``task_class`` (a VecTask subclass) with `EurekaRewardMixin` first and ``reward`` as its
    reward: a new class, named ``Eureka<Task>`` unless `name` is given."""
    attributes = {"eureka_reward": reward, "__doc__": f"{task_class.__name__} trained on {reward.origin}."}
    built = type(name or f"Eureka{task_class.__name__}", (EurekaRewardMixin, task_class), attributes)
    return cast("type[Task]", built)
