"""Human-written Acrobot reward (numpy): potential-based shaping on the height of the free end,
plus a goal bonus and a small cost of time."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    def tip_height(state):
        # -cos(theta1) - cos(theta1 + theta2), in link lengths above the pivot
        cos1, sin1, cos2, sin2 = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
        return -cos1 - (cos1 * cos2 - sin1 * sin2)

    gain = 0.99 * tip_height(next_obs) - tip_height(obs)
    goal = 10.0 * terminated.astype(np.float32)
    step = -0.1 * np.ones_like(gain)
    total = gain + goal + step
    return total, {"height_gain": gain, "goal": goal, "step": step}
