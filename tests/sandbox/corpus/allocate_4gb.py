import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    # A lookup table over a fine grid of states (4 GB of float64, filled with ones).
    table = np.ones((4 * 1024**3) // 8, dtype=np.float64)
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    return upright * table[0], {"upright": upright}
