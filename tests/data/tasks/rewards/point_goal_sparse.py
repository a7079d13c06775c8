"""Point goal, sparse reward: 1 on a step where the point is near the goal and nearly still."""

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    near = np.hypot(next_obs[:, 0] - next_obs[:, 4], next_obs[:, 1] - next_obs[:, 5]) < 0.1
    still = np.hypot(next_obs[:, 2], next_obs[:, 3]) < 0.2
    done = (near & still).astype(np.float32)
    return done, {"done": done}
