"""Heading, sparse reward: 1 on a step where the heading is within 0.1 radians of the target."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    heading = jnp.arctan2(next_obs[:, 1], next_obs[:, 0])
    error = jnp.abs(jnp.arctan2(jnp.sin(heading - next_obs[:, 3]), jnp.cos(heading - next_obs[:, 3])))
    facing = (error < 0.1).astype(jnp.float32)
    return facing, {"facing": facing}
