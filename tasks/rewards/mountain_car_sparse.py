"""Sparse MountainCar reward: 1 when the car reaches the flag, 0 otherwise."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    goal = terminated.astype(np.float32)
    return goal, {"goal": goal}
