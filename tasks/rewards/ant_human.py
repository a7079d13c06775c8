"""Human-written Ant reward: run forward, stay alive and level, with little effort."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    forward = next_obs[:, 13]
    alive = 1.0 - terminated.astype(jnp.float32)
    # The torso's up axis has vertical component 1 - 2 (x^2 + y^2) of its quaternion.
    level = 0.2 * (1.0 - 2.0 * (next_obs[:, 2] ** 2 + next_obs[:, 3] ** 2))
    sideways = -0.1 * next_obs[:, 14] ** 2
    effort = -0.1 * jnp.sum(action ** 2, axis=1)
    total = forward + alive + level + sideways + effort
    return total, {"forward": forward, "alive": alive, "level": level, "sideways": sideways,
                   "effort": effort}
