import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    angle = next_obs[:, 2]
    position = next_obs[:, 0]
    upright = np.cos(angle / 0.2095 * (np.pi / 2))
    centred = 1.0 - np.abs(position) / 2.4
    alive = np.where(terminated, -1.0, 1.0)
    total = alive + upright + 0.5 * centred
    return total, {"alive": alive, "upright": upright, "centred": centred}
