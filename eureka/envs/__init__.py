"""Environment backends. Dispatch on `EnvSpec.backend`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eureka.envs.base import SpaceInfo, Transitions

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


def sample_transitions(spec: "EnvSpec", count: int = 512, seed: int = 0) -> Transitions:
    if spec.backend == "isaacgym":
        from eureka.envs import isaacgym_backend

        return isaacgym_backend.sample_transitions(spec, count, seed)  # raises, as space_info
    if spec.backend == "gymnasium":
        from eureka.envs import gymnasium_backend

        return gymnasium_backend.sample_transitions(spec, count, seed)
    from eureka.envs import gymnax_backend

    return gymnax_backend.sample_transitions(spec, count, seed)


__all__ = ["SpaceInfo", "Transitions", "sample_transitions", "space_info"]
