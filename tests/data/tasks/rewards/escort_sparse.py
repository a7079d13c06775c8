"""Escort, sparse reward: 1 on a step where the escort is beside the beacon."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    beside = (np.hypot(next_obs[:, 0] - next_obs[:, 4], next_obs[:, 1] - next_obs[:, 5]) < 0.08).astype(np.float32)
    return beside, {"beside": beside}
