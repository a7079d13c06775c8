import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    alive = np.where(terminated, -1.0, 1.0)
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    centred = 1.0 - np.abs(next_obs[:, 0]) / 2.4
    total = alive + 2.0 * upright + 0.3 * centred
    return total, {"alive": alive, "upright": upright, "centred": centred}
