"""Sparse CartPole reward: -1 when the episode fails, 0 otherwise."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    failure = -terminated.astype(np.float32)
    return failure, {"failure": failure}
