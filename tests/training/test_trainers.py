"""The trainer registry: what the rest of eureka asks instead of testing the backend's name."""

from __future__ import annotations

import pytest

from eureka.training.trainers import TRAINERS, trainer_for


def test_every_backend_of_the_task_file_has_a_trainer() -> None:
    from typing import get_args

    from eureka.task import EnvSpec

    backends = get_args(EnvSpec.model_fields["backend"].annotation)
    assert set(backends) == set(TRAINERS)
    for backend in backends:
        assert trainer_for(backend).backend == backend


def test_population_backends_tune_constants_by_default() -> None:
    assert trainer_for("jax").population and trainer_for("jax").default_constant_variants == 4
    assert not trainer_for("gymnasium").population and trainer_for("gymnasium").default_constant_variants == 0
    assert trainer_for("jax").probe_limits.memory_mb > trainer_for("gymnasium").probe_limits.memory_mb


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match="'mujoco'"):
        trainer_for("mujoco")
