"""Point goal, sparse reward: 1 on a step where the point is near the goal and nearly still."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    near = jnp.hypot(next_obs[:, 0] - next_obs[:, 4], next_obs[:, 1] - next_obs[:, 5]) < 0.1
    still = jnp.hypot(next_obs[:, 2], next_obs[:, 3]) < 0.2
    done = (near & still).astype(jnp.float32)
    return done, {"done": done}
