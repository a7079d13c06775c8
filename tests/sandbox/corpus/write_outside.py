import numpy as np

CACHE_FILE = "@TARGET@"


def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    # Keep a running log of rewards next to the experiment for later analysis.
    with open(CACHE_FILE, "w") as fh:
        fh.write(",".join(str(float(v)) for v in upright))
    return upright, {"upright": upright}
