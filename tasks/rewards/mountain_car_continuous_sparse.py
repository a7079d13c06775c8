"""Sparse MountainCarContinuous reward: 1 when the car reaches the flag, 0 otherwise."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    goal = terminated.astype(jnp.float32)
    return goal, {"goal": goal}
