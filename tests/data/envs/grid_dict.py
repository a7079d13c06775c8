"""A gymnasium gridworld with a Dict observation (a test env of structured mode: not shipped,
not known to eureka by name).

GridDictEnv: an agent walks on a 5 x 5 grid, one cell per step, to a goal; both are placed at
random. The observation is a Dict: "grid", a (5, 5, 2) array of one-hot channels (0 the agent,
1 the goal), and "time_left", the fraction of the episode's steps left. The episode ends when
the agent reaches the goal (+1, terminated) or after LIMIT steps (truncated).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

SIZE = 5
LIMIT = 30
MOVES = ((0, -1), (0, 1), (-1, 0), (1, 0))  # (row, column) steps: left, right, up, down


class GridDictEnv(gym.Env):
    def __init__(self) -> None:
        self.observation_space = gym.spaces.Dict({
            "grid": gym.spaces.Box(0.0, 1.0, (SIZE, SIZE, 2), np.float32),
            "time_left": gym.spaces.Box(0.0, 1.0, (1,), np.float32),
        })
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.agent = np.zeros(2, dtype=int)
        self.goal = np.zeros(2, dtype=int)
        self.steps = 0

    def _observe(self) -> dict[str, np.ndarray]:
        grid = np.zeros((SIZE, SIZE, 2), dtype=np.float32)
        grid[self.agent[0], self.agent[1], 0] = 1.0
        grid[self.goal[0], self.goal[1], 1] = 1.0
        return {"grid": grid, "time_left": np.array([1.0 - self.steps / LIMIT], dtype=np.float32)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        cells = self.np_random.choice(SIZE * SIZE, size=2, replace=False)
        self.agent = np.array(divmod(int(cells[0]), SIZE))
        self.goal = np.array(divmod(int(cells[1]), SIZE))
        self.steps = 0
        return self._observe(), {}

    def step(self, action):
        self.agent = np.clip(self.agent + np.array(MOVES[int(action)]), 0, SIZE - 1)
        self.steps += 1
        reached = bool(np.all(self.agent == self.goal))
        return self._observe(), float(reached), reached, self.steps >= LIMIT and not reached, {}
