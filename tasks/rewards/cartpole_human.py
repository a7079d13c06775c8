"""Human-written CartPole reward: stay alive, keep the pole upright and the cart centred."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    alive = jnp.where(terminated, -1.0, 1.0)
    upright = 1.0 - jnp.abs(next_obs[:, 2]) / 0.2095
    centred = 1.0 - jnp.abs(next_obs[:, 0]) / 2.4
    total = alive + 0.5 * upright + 0.2 * centred
    return total, {"alive": alive, "upright": upright, "centred": centred}
