"""A user's own environment, as a new user would bring it: a Gymnasium class in a file beside the
task. A cart on a line starts near 0 and must reach the flag at +0.9; actions push left, not at all,
or right. The observation is a Dict, so `eureka init` can name its columns."""

import gymnasium as gym
import numpy as np


class MyEnv(gym.Env):
    def __init__(self, max_steps: int = 100):
        self.observation_space = gym.spaces.Dict({
            "position": gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32),
            "velocity": gym.spaces.Box(-0.1, 0.1, (1,), dtype=np.float32),
        })
        self.action_space = gym.spaces.Discrete(3)
        self.max_steps = max_steps

    def _obs(self):
        return {"position": np.array([self.position], dtype=np.float32),
                "velocity": np.array([self.velocity], dtype=np.float32)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = float(self.np_random.uniform(-0.1, 0.1))
        self.velocity = 0.0
        self.steps = 0
        return self._obs(), {}

    def step(self, action):
        self.velocity = float(np.clip(self.velocity + 0.02 * (int(action) - 1), -0.1, 0.1))
        self.position = float(np.clip(self.position + self.velocity, -1.0, 1.0))
        self.steps += 1
        terminated = self.position >= 0.9
        truncated = self.steps >= self.max_steps
        return self._obs(), (1.0 if terminated else 0.0), terminated, truncated, {}
