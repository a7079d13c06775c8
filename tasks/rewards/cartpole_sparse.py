"""Sparse CartPole reward: -1 when the episode fails, 0 otherwise."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    failure = -terminated.astype(jnp.float32)
    return failure, {"failure": failure}
