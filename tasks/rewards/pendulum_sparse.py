"""Sparse Pendulum reward: 1 while the pendulum is within 0.2 rad of upright and slow."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    theta = np.arctan2(next_obs[:, 1], next_obs[:, 0])
    upright = ((np.abs(theta) < 0.2) & (np.abs(next_obs[:, 2]) < 1.0)).astype(np.float32)
    return upright, {"upright": upright}
