"""MinAtar games on the jax backend: flat observations, losing told from the time limit."""

from __future__ import annotations

import numpy as np
import pytest

from eureka.envs import sample_transitions, space_info
from eureka.task import EnvSpec


@pytest.mark.parametrize("env_id,channels", [("Breakout-MinAtar", 4), ("SpaceInvaders-MinAtar", 6)])
def test_observations_are_flat_images(env_id, channels):
    spec = EnvSpec(backend="jax", id=env_id)
    assert space_info(spec).obs_dim == 10 * 10 * channels
    transitions = sample_transitions(spec, 300, seed=0)
    assert transitions.obs.shape == (300, 100 * channels)
    assert set(np.unique(transitions.obs)) <= {0.0, 1.0}
    images = transitions.obs.reshape(-1, 10, 10, channels)
    assert (images[:, 9, :, 0].sum(axis=1) == 1).all()  # the paddle or cannon: one cell of the bottom row


def test_the_time_limit_is_a_truncation_and_losing_a_termination():
    spec = EnvSpec(backend="jax", id="SpaceInvaders-MinAtar", max_episode_steps=25)
    transitions = sample_transitions(spec, 600, seed=0)
    assert transitions.truncated.any() and transitions.terminated.any()
    assert not (transitions.terminated & transitions.truncated).any()
    ends = np.flatnonzero(transitions.terminated | transitions.truncated)
    lengths = np.diff(np.concatenate([[-1], ends]))
    assert (lengths[transitions.truncated[ends]] == 25).all()
    assert (lengths[transitions.terminated[ends]] <= 25).all()
