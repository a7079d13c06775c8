"""Heading, sparse reward: 1 on a step where the heading is within 0.1 radians of the target."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    heading = np.arctan2(next_obs[:, 1], next_obs[:, 0])
    error = np.abs(np.arctan2(np.sin(heading - next_obs[:, 3]), np.cos(heading - next_obs[:, 3])))
    facing = (error < 0.1).astype(np.float32)
    return facing, {"facing": facing}
