"""Point goal, human reward: minus the distance to the goal and the speed (arrive, then stop)."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    distance = jnp.hypot(next_obs[:, 0] - next_obs[:, 4], next_obs[:, 1] - next_obs[:, 5])
    speed = jnp.hypot(next_obs[:, 2], next_obs[:, 3])
    approach = -distance
    settle = -0.3 * speed
    return approach + settle, {"approach": approach, "settle": settle}
