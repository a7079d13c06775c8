"""stable-baselines3 PPO on a Gymnasium vector env, one (candidate, seed) at a time.

Runs inside the sandbox. The candidate's batched reward replaces the env's reward in a
VecEnv wrapper that sits *after* the ground-truth bookkeeping, so fitness is measured on
the env's own reward and success condition, never on the candidate's.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eureka.reward import RewardFn
from eureka.task import TaskSpec
from eureka.training.base import Checkpoint, EpisodeMotion, EpisodeRecord, MemberResult
from eureka.training.fitness import EpisodeLedger, success_flags
from eureka.training.rollouts import RolloutRecorder, save_rollouts

# rl-zoo3-style settings; task.training.hyperparams override them.
DEFAULT_PPO = {
    "n_steps": 128,
    "batch_size": 256,
    "n_epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "learning_rate": 3e-4,
    "ent_coef": 0.0,
    "clip_range": 0.2,
}


class NonFiniteReward(RuntimeError):
    pass


def _make_reward_vec_env(task: TaskSpec, reward_fn: RewardFn, seed: int):
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

    from eureka.envs.gymnasium_backend import make_env

    class CandidateReward(VecEnvWrapper):
        """Replaces the env reward by the candidate's; keeps ground truth and component sums."""

        def __init__(self, venv) -> None:
            super().__init__(venv)
            self.ledger = EpisodeLedger(task.fitness, venv.num_envs)
            self.last_obs: np.ndarray | None = None
            self.actions: np.ndarray | None = None
            self.component_sums: dict[str, float] = {}
            self.reward_sum = 0.0
            self.steps = 0

        def reset(self):
            self.last_obs = self.venv.reset()
            return self.last_obs

        def step_async(self, actions):
            self.actions = actions
            self.venv.step_async(actions)

        def step_wait(self):
            obs, env_reward, dones, infos = self.venv.step_wait()
            next_obs = obs.copy()
            truncated = np.zeros(len(dones), dtype=bool)
            for i, done in enumerate(dones):
                if done:
                    next_obs[i] = infos[i]["terminal_observation"]
                    truncated[i] = bool(infos[i].get("TimeLimit.truncated", False))
            terminated = dones & ~truncated
            success = success_flags(task.fitness, self.last_obs, next_obs, terminated, truncated, env_reward)
            self.ledger.step(env_reward, dones, success & dones)
            total, components = reward_fn(self.last_obs, self.actions, next_obs, terminated)
            total = np.asarray(total, dtype=np.float32).reshape(len(dones))
            if not np.all(np.isfinite(total)):
                raise NonFiniteReward(f"the reward became non-finite at step {self.steps}")
            self.reward_sum += float(total.mean())
            for name, value in components.items():
                self.component_sums[name] = self.component_sums.get(name, 0.0) + float(np.mean(value))
            self.steps += 1
            self.last_obs = obs
            return obs, total, dones, infos

        def checkpoint(self, step: int) -> Checkpoint:
            fitness, length = self.ledger.drain()
            n = max(self.steps, 1)
            point = Checkpoint(step=step, fitness=fitness, reward_mean=self.reward_sum / n,
                               components={k: v / n for k, v in self.component_sums.items()},
                               episode_length=length)
            self.component_sums = {}
            self.reward_sum = 0.0
            self.steps = 0
            return point

    venv = DummyVecEnv([lambda: make_env(task.env) for _ in range(task.training.num_envs)])
    venv.seed(seed)
    return CandidateReward(venv)


def evaluate_policy_ground_truth(task: TaskSpec, model, seed: int, reward_fn: RewardFn,
                                 normalize: Callable[[np.ndarray], np.ndarray] = lambda o: o,
                                 recorder: RolloutRecorder | None = None,
                                 ) -> tuple[float, list[EpisodeRecord]]:
    """Deterministic rollouts of the trained policy, scored by the task's ground truth.

    Each episode is also recorded (outcome, how it ended, mean candidate components) for
    the trajectory analysis, and its transitions go to `recorder` (the pre-filter's pool).
    """
    from eureka.envs.gymnasium_backend import make_env

    env = make_env(task.env)
    ledger = EpisodeLedger(task.fitness, 1)
    episodes = []
    for episode in range(task.fitness.eval_episodes):
        obs, _ = env.reset(seed=seed * 1000 + episode)
        sums: dict[str, float] = {}
        env_return, length = 0.0, 0
        seen = [obs] if np.size(obs) <= 64 else []  # for the motion of the episode (small observations)
        while True:
            action, _ = model.predict(normalize(obs), deterministic=True)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            if recorder is not None:
                recorder.step(obs, action, next_obs, terminated, truncated, reward)
            batch = (obs[None], np.asarray(action)[None], next_obs[None], np.array([terminated]))
            _, components = reward_fn(*batch)
            for name, value in components.items():
                sums[name] = sums.get(name, 0.0) + float(np.mean(value))
            success = success_flags(task.fitness, obs[None], next_obs[None], np.array([terminated]),
                                    np.array([truncated]), np.array([reward]))
            ledger.step(np.array([reward]), np.array([done]), success & done)
            env_return += float(reward)
            length += 1
            obs = next_obs
            if seen:
                seen.append(next_obs)
            if done:
                episodes.append(EpisodeRecord(
                    success=bool(success[0]), length=length, env_return=env_return,
                    ended_by="termination" if terminated else "time_limit",
                    components={k: v / length for k, v in sums.items()}, motion=EpisodeMotion.of(seen)))
                break
    env.close()
    fitness, _ = ledger.drain()
    return (float(fitness) if fitness is not None else math.nan), episodes


def train_member(task: TaskSpec, reward_fn: RewardFn, seed: int,
                 progress: Callable[[int, int], None] | None = None,
                 artifacts: Path | None = None) -> MemberResult:
    """Train one policy; with `artifacts`, save it there as policy_seed<seed>.zip."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    settings: dict[str, Any] = {**DEFAULT_PPO, "normalize_reward": True, "normalize_obs": False,
                                **task.training.hyperparams}
    normalize_reward = bool(settings.pop("normalize_reward"))
    normalize_obs = bool(settings.pop("normalize_obs"))
    total = task.training.timesteps
    every = max(total // task.training.checkpoints, task.training.num_envs)
    env = _make_reward_vec_env(task, reward_fn, seed)
    train_env = (VecNormalize(env, norm_obs=normalize_obs, norm_reward=normalize_reward)
                 if normalize_reward or normalize_obs else env)
    checkpoints: list[Checkpoint] = []

    class Checkpoints(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_at = every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_at:
                checkpoints.append(env.checkpoint(self.num_timesteps))
                self.next_at += every
                if progress:
                    progress(self.num_timesteps, total)
            return True

    start = time.monotonic()
    try:
        model = PPO("MlpPolicy", train_env, seed=seed, verbose=0, device="cpu", **settings)
        model.learn(total_timesteps=total, callback=Checkpoints())
    except NonFiniteReward as exc:
        return MemberResult(seed=seed, status="failed", error=str(exc), checkpoints=checkpoints,
                            train_seconds=time.monotonic() - start)
    if artifacts is not None:
        model.save(artifacts / f"policy_seed{seed}.zip")
    if isinstance(train_env, VecNormalize):
        train_env.training = False
        if artifacts is not None:
            train_env.save(str(artifacts / f"vecnormalize_seed{seed}.pkl"))
        normalize = train_env.normalize_obs
    else:
        normalize = lambda obs: obs  # noqa: E731
    recorder = RolloutRecorder() if artifacts is not None and seed == task.training.seeds[0] else None
    fitness, episodes = evaluate_policy_ground_truth(task, model, seed, reward_fn, normalize, recorder)
    if artifacts is not None and recorder is not None:  # the first seed's policy
        save_rollouts(recorder.transitions(), artifacts, seed)
        from eureka.training.video import record_rollout  # never raises: a failure is written to its .json

        record_rollout(task.env, lambda obs: model.predict(normalize(obs), deterministic=True)[0],
                       artifacts, name=f"rollout_seed{seed}", seed=seed)
    return MemberResult(seed=seed, status="ok", fitness=fitness, checkpoints=checkpoints, episodes=episodes,
                        train_seconds=time.monotonic() - start, env_steps=int(model.num_timesteps))
