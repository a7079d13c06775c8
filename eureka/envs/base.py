"""What the rest of eureka needs from an environment backend, independent of the backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

ArrayModule = Literal["numpy", "jax"]


@dataclass(frozen=True)
class SpaceInfo:
    obs_dim: int
    action_kind: Literal["discrete", "continuous"]
    action_dim: int  # number of actions (discrete) or action vector length (continuous)
    array_module: ArrayModule

    def describe_action(self) -> str:
        if self.action_kind == "discrete":
            return f"integer array of shape (N,), values 0..{self.action_dim - 1}"
        return f"float array of shape (N, {self.action_dim})"


@dataclass(frozen=True)
class Transitions:
    """A batch of real transitions, as the reward sees them (plus ground truth for checks)."""

    obs: np.ndarray
    action: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    env_reward: np.ndarray

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    def save(self, path: Path) -> None:
        np.savez(path, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> "Transitions":
        with np.load(path) as data:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
