"""Environment backends. Dispatch on `EnvSpec.backend`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.fields import ObsField

if TYPE_CHECKING:  # the sandboxed probe imports eureka.envs.base: keep pydantic/yaml out of its start-up
    from eureka.task import EnvSpec


def space_info(spec: "EnvSpec") -> SpaceInfo:
    if spec.backend == "isaacgym":
        from eureka.envs import isaacgym_backend

        return isaacgym_backend.space_info(spec)  # raises: eureka does not build Isaac Gym envs itself
    if spec.backend == "gymnasium":
        from eureka.envs import gymnasium_backend

        return gymnasium_backend.space_info(spec)
    from eureka.envs import gymnax_backend

    return gymnax_backend.space_info(spec)


def observation_fields(spec: "EnvSpec") -> list[ObsField]:
    """The named fields of a structured (Dict or Tuple) observation, as flattened column ranges;
    empty for a flat observation and on the jax backend."""
    if spec.backend == "gymnasium":
        from eureka.envs import gymnasium_backend

        return gymnasium_backend.observation_fields(spec)
    return []


def sample_transitions(spec: "EnvSpec", count: int = 512, seed: int = 0) -> Transitions:
    if spec.backend == "isaacgym":
        from eureka.envs import isaacgym_backend

        return isaacgym_backend.sample_transitions(spec, count, seed)  # raises, as space_info
    if spec.backend == "gymnasium":
        from eureka.envs import gymnasium_backend

        return gymnasium_backend.sample_transitions(spec, count, seed)
    from eureka.envs import gymnax_backend

    return gymnax_backend.sample_transitions(spec, count, seed)


__all__ = ["ObsField", "SpaceInfo", "Transitions", "observation_fields", "sample_transitions", "space_info"]
