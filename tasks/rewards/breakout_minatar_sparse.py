"""Sparse Breakout (MinAtar) reward: -1 when the ball is lost, 0 otherwise."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    lost = -terminated.astype(jnp.float32)
    return lost, {"lost": lost}
