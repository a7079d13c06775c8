"""Heading, human reward: minus the wrapped heading error, minus a little turning."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    heading = np.arctan2(next_obs[:, 1], next_obs[:, 0])
    error = np.abs(np.arctan2(np.sin(heading - next_obs[:, 3]), np.cos(heading - next_obs[:, 3])))
    turning = 0.05 * np.square(next_obs[:, 2])
    return -error - turning, {"error": -error, "turning": -turning}
