"""Gymnasium environments: creation, space description, random-policy transitions."""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np

from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.fields import ObsField, fields_of_space
from eureka.task import EnvSpec


def make_env(spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
    """The env of `spec`; a Dict or Tuple observation is flattened into one vector (keys in the
    space's order), as rewards and policies see it (its fields: `observation_fields`)."""
    env = _build(spec, render_mode)
    if isinstance(env.observation_space, (gym.spaces.Dict, gym.spaces.Tuple)):
        env = gym.wrappers.FlattenObservation(env)
    return env


def observation_fields(spec: EnvSpec) -> list[ObsField]:
    """The named column ranges of a Dict or Tuple observation once flattened (empty for a Box)."""
    env = _build(spec)
    try:
        return fields_of_space(env.observation_space)
    finally:
        env.close()


def _build(spec: EnvSpec, render_mode: str | None = None) -> gym.Env:
    from eureka.envs.user import import_register

    import_register(spec)
    kwargs = dict(spec.kwargs)
    if render_mode:
        kwargs["render_mode"] = render_mode
    if ":" in spec.id and spec.id not in gym.registry:
        module_name, class_name = spec.id.split(":", 1)
        env_cls = getattr(importlib.import_module(module_name), class_name)
        env: gym.Env = env_cls(**kwargs)
        if spec.max_episode_steps:
            env = gym.wrappers.TimeLimit(env, spec.max_episode_steps)
    else:
        env = gym.make(spec.id, max_episode_steps=spec.max_episode_steps, **kwargs)
    return env


def space_info(spec: EnvSpec) -> SpaceInfo:
    env = make_env(spec)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    obs_dim = int(np.prod(obs_space.shape))
    if isinstance(act_space, gym.spaces.Discrete):
        return SpaceInfo(obs_dim, "discrete", int(act_space.n), "numpy")
    return SpaceInfo(obs_dim, "continuous", int(np.prod(act_space.shape)), "numpy")


def sample_transitions(spec: EnvSpec, count: int = 512, seed: int = 0) -> Transitions:
    """Step the env with a uniformly random policy and record `count` transitions."""
    env = make_env(spec)
    env.action_space.seed(seed)
    rows: dict[str, list] = {k: [] for k in Transitions.__dataclass_fields__}
    obs, _ = env.reset(seed=seed)
    while len(rows["obs"]) < count:
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for key, value in (("obs", obs), ("action", action), ("next_obs", next_obs),
                           ("terminated", terminated), ("truncated", truncated),
                           ("env_reward", reward)):
            rows[key].append(value)
        obs = env.reset()[0] if (terminated or truncated) else next_obs
    env.close()
    return Transitions(
        obs=np.asarray(rows["obs"], dtype=np.float32).reshape(count, -1),
        action=np.asarray(rows["action"]),
        next_obs=np.asarray(rows["next_obs"], dtype=np.float32).reshape(count, -1),
        terminated=np.asarray(rows["terminated"], dtype=bool),
        truncated=np.asarray(rows["truncated"], dtype=bool),
        env_reward=np.asarray(rows["env_reward"], dtype=np.float32),
    )
