"""Sparse DoorKey reward: 1 when the agent reaches the goal, 0 otherwise."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    goal = terminated.astype(jnp.float32)
    return goal, {"goal": goal}
