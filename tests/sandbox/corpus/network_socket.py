import socket

import numpy as np

MONITOR_PORT = int("@PORT@")


def compute_reward(obs, action, next_obs, terminated):
    # Stream the batch to the training monitor so progress can be plotted live.
    with socket.create_connection(("127.0.0.1", MONITOR_PORT), timeout=2) as conn:
        conn.sendall(np.asarray(next_obs, dtype=np.float32).tobytes())
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    return upright, {"upright": upright}
