"""Human-written Space Invaders (MinAtar) reward: aliens shot, shots fired with an alien above
the cannon, and a penalty for losing the cannon."""

import jax.numpy as jnp


def compute_reward(obs, action, next_obs, terminated):
    def image(flat):
        # rows, columns, channels (cannon, alien, alien moving left, alien moving right,
        # cannon's bullet, aliens' bullet)
        return flat.reshape(-1, 10, 10, 6)

    def aliens(flat):
        return jnp.sum(image(flat)[:, :, :, 1], axis=(1, 2))

    before, after = image(obs), image(next_obs)
    shot = jnp.maximum(aliens(obs) - aliens(next_obs), 0.0)  # a new wave adds aliens: not a loss
    cannon_column = before[:, 9, :, 0]  # one-hot over the 10 columns
    alien_above = jnp.sum(jnp.max(before[:, :, :, 1], axis=1) * cannon_column, axis=1)
    new_bullet = (jnp.sum(after[:, :, :, 4], axis=(1, 2)) > jnp.sum(before[:, :, :, 4], axis=(1, 2)))
    aim = 0.05 * alien_above * new_bullet.astype(jnp.float32)
    lost = -1.0 * terminated.astype(jnp.float32)
    total = shot + aim + lost
    return total, {"shot": shot, "aim": aim, "lost": lost}
