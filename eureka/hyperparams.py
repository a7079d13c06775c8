"""Typed `training.hyperparams`, one model per trainer (checked when the task file is loaded).

The trainers still receive a plain mapping (only the keys the task sets, so their own per-env
defaults apply); these models make sure every key is one the trainer knows, with a value of its
type and range. They import nothing heavy: loading a task must stay cheap.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

HyperValue = bool | int | float | str | list[int]  # what a value in training.hyperparams may be


class _Hyperparams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class SB3PPOHyperparams(_Hyperparams):
    """stable-baselines3's PPO (the gymnasium backend), plus the VecNormalize switches."""

    n_steps: int = Field(128, gt=0, le=1_000_000)
    batch_size: int = Field(256, gt=0, le=1_000_000)
    n_epochs: int = Field(10, gt=0, le=1_000)
    gamma: float = Field(0.99, gt=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    learning_rate: float = Field(3e-4, gt=0, le=1)
    ent_coef: float = Field(0.0, ge=0)
    vf_coef: float = Field(0.5, ge=0)
    clip_range: float = Field(0.2, gt=0)
    max_grad_norm: float = Field(0.5, gt=0)
    target_kl: float | None = Field(None, gt=0)
    normalize_advantage: bool = True
    normalize_reward: bool = True
    normalize_obs: bool = False


JaxActivation = Literal["tanh", "relu", "swish", "silu", "gelu", "elu", "leaky_relu", "sigmoid", "softplus"]


class JaxPPOHyperparams(_Hyperparams):
    """rejax's PPO (the jax backend); eureka.training.jax_population.PPOSettings builds on it."""

    num_steps: int = Field(64, gt=0, le=100_000)
    num_epochs: int = Field(5, gt=0, le=1_000)
    num_minibatches: int = Field(4, gt=0, le=100_000)
    learning_rate: float = Field(7.5e-4, gt=0, le=1)
    max_grad_norm: float = Field(0.5, gt=0)
    gamma: float = Field(0.99, gt=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    clip_eps: float = Field(0.2, gt=0)
    vf_coef: float = Field(0.5, ge=0)
    ent_coef: float = Field(0.01, ge=0)
    normalize_observations: bool = False
    normalize_rewards: bool = True
    activation: JaxActivation = "tanh"
    hidden_layer_sizes: list[Annotated[int, Field(gt=0, le=8192)]] = Field(default_factory=lambda: [64, 64], min_length=1, max_length=16)


class IsaacGymHyperparams(_Hyperparams):
    """The isaacgym backend: eureka does not train on Isaac Gym itself (docs/isaacgym.md); rl_games'
    settings stay in IsaacGymEnvs' cfg/train/<Task>PPO.yaml, so no key is accepted here."""


HYPERPARAMS_BY_BACKEND: dict[str, type[_Hyperparams]] = {"gymnasium": SB3PPOHyperparams, "jax": JaxPPOHyperparams,
                                                         "isaacgym": IsaacGymHyperparams}
