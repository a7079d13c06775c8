from pathlib import Path

import gymnasium as gym
import numpy as np


class AssetLine(gym.Env):
    """A point on a line whose goal is read from an asset file (`goal_file`, an absolute path)."""

    def __init__(self, goal_file: str):
        self.goal = float(Path(goal_file).read_text())
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x, self.goal], dtype=np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + (0.1 if action else -0.1), -2.0, 2.0))
        terminated = abs(self.x - self.goal) < 0.05
        return np.array([self.x, self.goal], dtype=np.float32), float(terminated), terminated, False, {}
