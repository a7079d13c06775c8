import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    margin = (0.2095 - np.abs(next_obs[:, 2])) / 0.2095
    calm = np.exp(-np.abs(next_obs[:, 3]))
    alive = 1.0 - terminated.astype(np.float32)
    total = alive + 0.5 * margin + 0.2 * calm
    return total, {"alive": alive, "margin": margin, "calm": calm}
