import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    alive = np.where(terminated, -2.0, 1.0)
    upright = np.cos(next_obs[:, 2] / 0.2095 * (np.pi / 2))
    centred = 1.0 - np.abs(next_obs[:, 0]) / 2.4
    calm = np.exp(-np.abs(next_obs[:, 3]))
    total = alive + upright + 0.5 * centred + 0.2 * calm
    return total, {"alive": alive, "upright": upright, "centred": centred, "calm": calm}
