"""Sparse Ant reward: 1 on steps where the torso moves forward faster than 1 m/s."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    running = (next_obs[:, 13] > 1.0).astype(jnp.float32)
    return running, {"running": running}
