"""Sparse Pendulum reward: 1 while the pendulum is within 0.2 rad of upright and slow."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    theta = jnp.arctan2(next_obs[:, 1], next_obs[:, 0])
    upright = ((jnp.abs(theta) < 0.2) & (jnp.abs(next_obs[:, 2]) < 1.0)).astype(jnp.float32)
    return upright, {"upright": upright}
