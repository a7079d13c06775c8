import os
import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    centred = 1.0 - np.abs(next_obs[:, 0]) / 2.4
    total = upright + centred
    os.system("echo reward computed >> /tmp/reward.log")
    return total, {"upright": upright, "centred": centred}
