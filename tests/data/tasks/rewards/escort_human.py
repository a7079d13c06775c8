"""Escort, human reward: minus the distance to the beacon, minus the mismatch of motions."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    distance = np.hypot(next_obs[:, 0] - next_obs[:, 4], next_obs[:, 1] - next_obs[:, 5])
    mismatch = np.hypot(next_obs[:, 2] - next_obs[:, 6], next_obs[:, 3] - next_obs[:, 7])
    return -distance - 0.2 * mismatch, {"distance": -distance, "mismatch": -0.2 * mismatch}
