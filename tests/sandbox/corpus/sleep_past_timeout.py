import time

import numpy as np


def compute_reward(obs, action, next_obs, terminated):
    time.sleep(3600)  # "wait for the simulator to settle"
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    return upright, {"upright": upright}
