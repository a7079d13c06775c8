"""Sparse Craftax-Classic reward: 1 for each inventory entry that grows (an item collected
or crafted), the observable part of the env's achievement reward."""

import jax.numpy as jnp

INVENTORY = slice(1323, 1335)


def compute_reward(obs, action, next_obs, terminated):
    gained = jnp.sum(next_obs[:, INVENTORY] - obs[:, INVENTORY] > 0.05, axis=1).astype(jnp.float32)
    return gained, {"gained": gained}
