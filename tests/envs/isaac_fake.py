"""A stand-in for IsaacGymEnvs' ``VecTask`` and a small task on it, for the Isaac Gym adapter's tests.

Isaac Gym cannot be installed here (it is not on PyPI, comes as NVIDIA's tarball, and needs an
NVIDIA GPU), so these classes take its place: same buffers (torch tensors of the same shapes and
dtypes), same ``step`` order (``pre_physics_step``, physics, ``post_physics_step``, time-outs into
``extras``), and a task written the way IsaacGymEnvs writes its tasks (``post_physics_step``
resets, then computes observations, then ``compute_reward``, which calls a ``torch.jit.script``
function returning the reward and the resets). Only the physics is a few lines of torch.
"""

from __future__ import annotations

from typing import Any

import torch


class FakeVecTask:
    """What the adapter relies on from ``isaacgymenvs.tasks.base.vec_task.VecTask``."""

    def __init__(self, num_envs: int, num_obs: int, num_actions: int, max_episode_length: int) -> None:
        self.device = "cpu"
        self.num_envs, self.num_obs, self.num_actions = num_envs, num_obs, num_actions
        self.max_episode_length = max_episode_length
        self.clip_actions = 1.0
        self.obs_buf = torch.zeros((num_envs, num_obs), dtype=torch.float)
        self.rew_buf = torch.zeros(num_envs, dtype=torch.float)
        self.reset_buf = torch.ones(num_envs, dtype=torch.long)
        self.timeout_buf = torch.zeros(num_envs, dtype=torch.long)
        self.progress_buf = torch.zeros(num_envs, dtype=torch.long)
        self.extras: dict[str, Any] = {}

    def step(self, actions: torch.Tensor):
        self.pre_physics_step(torch.clamp(actions, -self.clip_actions, self.clip_actions))
        self.simulate()
        self.post_physics_step()
        self.timeout_buf = (self.progress_buf >= self.max_episode_length - 1) & (self.reset_buf != 0)
        self.extras["time_outs"] = self.timeout_buf
        return {"obs": self.obs_buf.clone()}, self.rew_buf.clone(), self.reset_buf.clone(), self.extras

    def reset_idx(self, env_ids: torch.Tensor) -> None:
        pass

    def pre_physics_step(self, actions: torch.Tensor) -> None:
        raise NotImplementedError

    def simulate(self) -> None:
        raise NotImplementedError

    def post_physics_step(self) -> None:
        raise NotImplementedError


class Slider(FakeVecTask):
    """A block on a rail, pushed by the action toward a target: obs (position, velocity, target).
    Its own reward is the closeness to the target; an episode ends off the rail or at the limit."""

    def __init__(self, num_envs: int = 6, max_episode_length: int = 12, seed: int = 0) -> None:
        super().__init__(num_envs, num_obs=3, num_actions=1, max_episode_length=max_episode_length)
        self.generator = torch.Generator().manual_seed(seed)
        self.position = torch.zeros(num_envs)
        self.velocity = torch.zeros(num_envs)
        self.target = torch.zeros(num_envs)
        self.actions = torch.zeros((num_envs, 1))
        self.reset_calls: list[list[int]] = []

    def pre_physics_step(self, actions: torch.Tensor) -> None:
        self.actions = actions.clone()

    def simulate(self) -> None:
        self.velocity += 0.5 * self.actions[:, 0]
        self.position += 0.1 * self.velocity

    def reset_idx(self, env_ids: torch.Tensor) -> None:
        self.reset_calls.append(env_ids.tolist())
        count = len(env_ids)
        self.position[env_ids] = torch.rand(count, generator=self.generator) - 0.5
        self.velocity[env_ids] = 0.0
        self.target[env_ids] = torch.rand(count, generator=self.generator) * 2.0 - 1.0
        self.progress_buf[env_ids] = 0
        self.reset_buf[env_ids] = 0

    def post_physics_step(self) -> None:
        self.progress_buf += 1
        env_ids = self.reset_buf.nonzero(as_tuple=False).squeeze(-1)
        if len(env_ids) > 0:
            self.reset_idx(env_ids)
        self.compute_observations()
        self.compute_reward(self.actions)

    def compute_observations(self) -> None:
        self.obs_buf[:, 0] = self.position
        self.obs_buf[:, 1] = self.velocity
        self.obs_buf[:, 2] = self.target

    def compute_reward(self, actions: torch.Tensor) -> None:
        self.rew_buf[:], self.reset_buf[:] = compute_slider_reward(
            self.obs_buf, self.reset_buf, self.progress_buf, float(self.max_episode_length))


@torch.jit.script
def compute_slider_reward(obs_buf: torch.Tensor, reset_buf: torch.Tensor, progress_buf: torch.Tensor,
                          max_episode_length: float) -> tuple[torch.Tensor, torch.Tensor]:
    reward = 1.0 - torch.abs(obs_buf[:, 0] - obs_buf[:, 2])
    off_rail = torch.abs(obs_buf[:, 0]) > 1.5
    reset = torch.where(off_rail, torch.ones_like(reset_buf), reset_buf)
    reset = torch.where(progress_buf >= max_episode_length - 1, torch.ones_like(reset_buf), reset)
    return reward, reset


class GoalSlider(Slider):
    """A task whose ``reset_idx`` takes a second argument (like ShadowHand's goal resets) and that
    already logs its own per-episode sums."""

    def reset_idx(self, env_ids: torch.Tensor, goal_env_ids: torch.Tensor | None = None) -> None:
        super().reset_idx(env_ids)

    def compute_reward(self, actions: torch.Tensor) -> None:
        super().compute_reward(actions)
        self.extras.setdefault("episode_cumulative", {})["own_sum"] = torch.ones(self.num_envs)
