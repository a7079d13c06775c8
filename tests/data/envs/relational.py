"""Small gymnasium envs whose rewards need a relation between observed quantities (the test
tasks of structured mode: none is shipped, none is known to eureka by name).

- PointGoalEnv: a point with inertia must reach a goal whose position is in the observation,
  and stop there.
- EscortEnv: a point must stay beside a beacon that drifts on a circle, moving with it.
- HeadingEnv: a body turns (with angular inertia) to face a target heading given in the
  observation; its own heading is observed as cos and sin.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

DT = 0.1
BOUND = 1.0


class PointGoalEnv(gym.Env):
    """obs: point x, y, point vx, vy, goal x, y; action: a force in [-1, 1]^2."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.state = np.zeros(6, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        point = self.np_random.uniform(-0.8, 0.8, 2)
        goal = self.np_random.uniform(-0.8, 0.8, 2)
        self.state = np.concatenate([point, np.zeros(2), goal]).astype(np.float32)
        return self.state.copy(), {}

    def step(self, action):
        force = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        point, speed, goal = self.state[0:2], self.state[2:4], self.state[4:6]
        speed = np.clip(0.95 * speed + DT * force, -1.0, 1.0)
        point = np.clip(point + DT * speed, -BOUND, BOUND)
        self.state = np.concatenate([point, speed, goal]).astype(np.float32)
        distance = float(np.linalg.norm(point - goal))
        return self.state.copy(), -distance, False, False, {}


class EscortEnv(gym.Env):
    """obs: escort x, y, escort vx, vy, beacon x, y, beacon vx, vy; action: a force in [-1, 1]^2."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (8,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.state = np.zeros(8, dtype=np.float32)
        self.phase, self.rate = 0.0, 0.0

    def _beacon(self) -> tuple[np.ndarray, np.ndarray]:
        radius = 0.5
        where = radius * np.array([math.cos(self.phase), math.sin(self.phase)])
        moving = radius * self.rate * np.array([-math.sin(self.phase), math.cos(self.phase)])
        return where, moving

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.phase = float(self.np_random.uniform(-math.pi, math.pi))
        self.rate = float(self.np_random.choice([-1.0, 1.0]) * self.np_random.uniform(0.3, 0.6))
        escort = self.np_random.uniform(-0.8, 0.8, 2)
        beacon, moving = self._beacon()
        self.state = np.concatenate([escort, np.zeros(2), beacon, moving]).astype(np.float32)
        return self.state.copy(), {}

    def step(self, action):
        force = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        escort, speed = self.state[0:2], self.state[2:4]
        speed = np.clip(0.95 * speed + DT * force, -1.0, 1.0)
        escort = np.clip(escort + DT * speed, -BOUND, BOUND)
        self.phase += DT * self.rate
        beacon, moving = self._beacon()
        self.state = np.concatenate([escort, speed, beacon, moving]).astype(np.float32)
        return self.state.copy(), -float(np.linalg.norm(escort - beacon)), False, False, {}


class HeadingEnv(gym.Env):
    """obs: cos(psi), sin(psi), turn rate, target heading; action: a torque in [-1, 1]."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.heading, self.turn, self.target = 0.0, 0.0, 0.0

    def _obs(self) -> np.ndarray:
        return np.array([math.cos(self.heading), math.sin(self.heading), self.turn, self.target], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.heading = float(self.np_random.uniform(-math.pi, math.pi))
        self.target = float(self.np_random.uniform(-math.pi, math.pi))
        self.turn = 0.0
        return self._obs(), {}

    def step(self, action):
        torque = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        self.turn = float(np.clip(0.9 * self.turn + 3.0 * DT * torque, -2.0, 2.0))
        self.heading = math.atan2(math.sin(self.heading + DT * self.turn), math.cos(self.heading + DT * self.turn))
        error = math.atan2(math.sin(self.heading - self.target), math.cos(self.heading - self.target))
        return self._obs(), -abs(error), False, False, {}
