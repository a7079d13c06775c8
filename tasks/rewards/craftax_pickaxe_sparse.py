"""Sparse Craftax-Classic pickaxe reward: 1 on the step a wooden pickaxe is made (the
task's success event), 0 otherwise."""

import jax.numpy as jnp

WOOD_PICKAXE = 1329  # wooden pickaxes / 10


def compute_reward(obs, action, next_obs, terminated):
    made = (next_obs[:, WOOD_PICKAXE] > obs[:, WOOD_PICKAXE]).astype(jnp.float32)
    return made, {"pickaxe": made}
