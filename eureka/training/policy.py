"""What a training job hands back: a policy's parameters, in a format that cannot execute.

A trained policy is an MLP: hidden layers with one activation, then a linear head giving
the action logits (discrete: the greedy action is their argmax) or the action mean
(continuous: clipped to the action space), optionally after observation normalisation.
Both trainers export their networks to this one layout, so one evaluator runs them:

    layer0.kernel (obs_dim, h0), layer0.bias (h0), ..., layerL.kernel (h_last, out), layerL.bias (out)
    obs_mean (obs_dim), obs_var (obs_dim)       only when the trainer normalised observations

A member's file (`policy_seed<seed>.npz`, numpy's npz, read with allow_pickle=False)
holds snapshots under prefixes: `final/` and `checkpoint<i>/` for each recorded checkpoint.
The host never takes the layout from the file: it derives the `PolicyArch` it expects from
the task and the trainer's settings, and a file whose names, shapes, dtypes or values do
not match exactly is that member's failure.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from eureka.envs.base import SpaceInfo
from eureka.task import TaskSpec

FINAL = "final"
MAX_POLICY_BYTES = 64 << 20
ACTIVATIONS = ("tanh", "relu", "swish", "silu", "elu", "gelu", "sigmoid", "leaky_relu")


def policy_file(seed: int) -> str:
    return f"policy_seed{seed}.npz"


def checkpoint_snapshot(index: int) -> str:
    return f"checkpoint{index}"


class PolicyArch(BaseModel):
    """The network eureka expects, derived on the host from the task and trainer settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    obs_dim: int
    hidden: tuple[int, ...]
    activation: str
    action_kind: Literal["discrete", "continuous"]
    action_dim: int
    normalize_obs: bool
    obs_clip: float | None = None  # SB3's VecNormalize clips normalised observations

    def shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = [self.obs_dim, *self.hidden, self.action_dim]
        shapes = {}
        for j, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"layer{j}.kernel"] = (fan_in, fan_out)
            shapes[f"layer{j}.bias"] = (fan_out,)
        if self.normalize_obs:
            shapes["obs_mean"] = (self.obs_dim,)
            shapes["obs_var"] = (self.obs_dim,)
        return shapes


class PolicyError(ValueError):
    """A policy file that is not what eureka expects: the member's failure, never the run's."""


def save_snapshots(path: Path, snapshots: dict[str, dict[str, np.ndarray]]) -> None:
    arrays = {f"{snap}/{name}": np.asarray(value, np.float32)
              for snap, params in snapshots.items() for name, value in params.items()}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_snapshots(path: Path, arch: PolicyArch, max_checkpoints: int,
                   dir_fd: int | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Read and check a member's snapshots (`path` relative to `dir_fd` if given); raises
    PolicyError on anything unexpected, FileNotFoundError if there is none."""
    try:
        data = _read_capped(path, dir_fd)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > 4 * MAX_POLICY_BYTES:
                raise PolicyError("the policy file unpacks to more than its size limit")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (PolicyError, FileNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed file is the member's failure
        raise PolicyError(f"the policy file is not a readable npz: {type(exc).__name__}: {exc}"[:300]) from None
    expected = arch.shapes()
    snapshots: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        snap, _, name = key.partition("/")
        allowed = snap == FINAL or (snap.startswith("checkpoint") and snap[10:].isdigit()
                                    and int(snap[10:]) < max_checkpoints)
        if not allowed or name not in expected:
            raise PolicyError(f"the policy file has an unexpected array {key[:80]!r}")
        if value.dtype != np.float32 or value.shape != expected[name]:
            raise PolicyError(f"{key}: {value.dtype}{list(value.shape)}, expected float32{list(expected[name])}")
        if not np.all(np.isfinite(value)):
            raise PolicyError(f"{key} is not finite")
        snapshots.setdefault(snap, {})[name] = value
    for snap, params in snapshots.items():
        missing = sorted(set(expected) - set(params))
        if missing:
            raise PolicyError(f"snapshot {snap!r} lacks {', '.join(missing)}")
    if FINAL not in snapshots:
        raise PolicyError("the policy file has no final policy")
    return snapshots


def _read_capped(path: Path, dir_fd: int | None = None) -> bytes:
    import os
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PolicyError("the policy file is not a regular file")
        if info.st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"the policy file is larger than {MAX_POLICY_BYTES >> 20} MB")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(MAX_POLICY_BYTES + 1)[:MAX_POLICY_BYTES]
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- forward pass


def _activation(name: str, xp):
    if name == "tanh":
        return xp.tanh
    if name == "relu":
        return lambda x: xp.maximum(x, 0)
    if name in ("swish", "silu"):
        return lambda x: x / (1 + xp.exp(-x))
    if name == "sigmoid":
        return lambda x: 1 / (1 + xp.exp(-x))
    if name == "elu":
        return lambda x: xp.where(x > 0, x, xp.exp(xp.minimum(x, 0)) - 1)
    if name == "leaky_relu":
        return lambda x: xp.where(x > 0, x, 0.01 * x)
    if name == "gelu":
        return lambda x: 0.5 * x * (1 + xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    raise ValueError(f"unknown activation {name!r}")


def head(params: dict, arch: PolicyArch, obs, xp=np):
    """The network's output (logits or action mean) for a batch of observations."""
    x = xp.reshape(obs, (obs.shape[0], -1)).astype(xp.float32)
    if arch.normalize_obs:
        x = (x - params["obs_mean"]) / xp.sqrt(params["obs_var"] + 1e-8)
        if arch.obs_clip is not None:
            x = xp.clip(x, -arch.obs_clip, arch.obs_clip)
    act = _activation(arch.activation, xp)
    for j in range(len(arch.hidden) + 1):
        x = x @ params[f"layer{j}.kernel"] + params[f"layer{j}.bias"]
        if j < len(arch.hidden):
            x = act(x)
    return x


def greedy_action(params: dict, arch: PolicyArch, obs, low=None, high=None, xp=np):
    out = head(params, arch, obs, xp)
    if arch.action_kind == "discrete":
        return xp.argmax(out, axis=-1).astype(xp.int32)
    return xp.clip(out, low, high) if low is not None else out


# ----------------------------------------------------------------------------- per trainer


def sb3_settings(task: TaskSpec) -> dict:
    from eureka.training.sb3_trainer import DEFAULT_PPO

    return {**DEFAULT_PPO, "normalize_reward": True, "normalize_obs": False, **task.training.hyperparams}


def expected_arch(task: TaskSpec, space: SpaceInfo) -> PolicyArch:
    """The network the task's trainer builds (its policy half: the value net stays behind)."""
    if task.env.backend == "jax":
        from eureka.training.jax_population import ppo_settings

        settings = ppo_settings(task.env.id, task.training.hyperparams)
        return PolicyArch(obs_dim=space.obs_dim, hidden=tuple(settings.hidden_layer_sizes),
                          activation=settings.activation, action_kind=space.action_kind,
                          action_dim=space.action_dim, normalize_obs=settings.normalize_observations)
    settings = sb3_settings(task)
    net_arch = (settings.get("policy_kwargs") or {}).get("net_arch", [64, 64])
    if isinstance(net_arch, dict):
        net_arch = net_arch.get("pi", [64, 64])
    return PolicyArch(obs_dim=space.obs_dim, hidden=tuple(int(n) for n in net_arch), activation="tanh",
                      action_kind=space.action_kind, action_dim=space.action_dim,
                      normalize_obs=bool(settings.get("normalize_obs")), obs_clip=10.0)
