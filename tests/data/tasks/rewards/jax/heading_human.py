"""Heading, human reward: minus the wrapped heading error, minus a little turning."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    heading = jnp.arctan2(next_obs[:, 1], next_obs[:, 0])
    error = jnp.abs(jnp.arctan2(jnp.sin(heading - next_obs[:, 3]), jnp.cos(heading - next_obs[:, 3])))
    turning = 0.05 * jnp.square(next_obs[:, 2])
    return -error - turning, {"error": -error, "turning": -turning}
