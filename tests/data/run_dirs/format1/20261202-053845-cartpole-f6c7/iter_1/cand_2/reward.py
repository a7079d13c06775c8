import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    alive = np.where(terminated, -1.0, 1.0)
    still = np.exp(-(next_obs[:, 1] ** 2 + next_obs[:, 3] ** 2))
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    total = alive + upright + 0.3 * still
    return total, {"alive": alive, "upright": upright, "still": still}
