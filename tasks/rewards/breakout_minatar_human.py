"""Human-written Breakout (MinAtar) reward: bricks broken, the paddle kept under the ball
(potential-based), and a penalty for losing the ball."""

import jax.numpy as jnp

COLUMNS = jnp.arange(10, dtype=jnp.float32)


def compute_reward(obs, action, next_obs, terminated):
    def image(flat):
        return flat.reshape(-1, 10, 10, 4)  # rows, columns, channels (paddle, ball, trail, brick)

    def bricks(flat):
        return jnp.sum(image(flat)[:, :, :, 3], axis=(1, 2))

    def under_ball(flat):
        paddle_x = jnp.sum(image(flat)[:, 9, :, 0] * COLUMNS, axis=1)
        ball_x = jnp.sum(jnp.sum(image(flat)[:, :, :, 1], axis=1) * COLUMNS, axis=1)
        return -jnp.abs(paddle_x - ball_x) / 9.0

    broken = jnp.maximum(bricks(obs) - bricks(next_obs), 0.0)  # a new wall adds bricks: not a loss
    follow = 0.1 * (0.99 * under_ball(next_obs) - under_ball(obs))
    lost = -1.0 * terminated.astype(jnp.float32)
    total = broken + follow + lost
    return total, {"broken": broken, "follow": follow, "lost": lost}
