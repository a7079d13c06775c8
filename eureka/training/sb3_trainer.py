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
from eureka.training.policy import FINAL, checkpoint_snapshot, policy_file, save_snapshots
from eureka.training.rollouts import RolloutRecorder

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
    """Train one policy; with `artifacts`, save its parameters there (`policy_seed<seed>.npz`:
    eureka.training.policy's layout, a snapshot per checkpoint and the final one)."""
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

    snapshots: dict[str, dict[str, np.ndarray]] = {}
    vec_normalize = train_env if isinstance(train_env, VecNormalize) else None

    class Checkpoints(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_at = every

        def _on_step(self) -> bool:
            # SB3 trains whole rollouts, past `total` when it is short: at most `checkpoints` of them
            if self.num_timesteps >= self.next_at and len(checkpoints) < task.training.checkpoints:
                snapshots[checkpoint_snapshot(len(checkpoints))] = policy_params(self.model, vec_normalize)
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
    snapshots[FINAL] = policy_params(model, vec_normalize)
    if artifacts is not None:
        save_snapshots(artifacts / policy_file(seed), snapshots)
    if vec_normalize is not None:
        vec_normalize.training = False
        normalize = vec_normalize.normalize_obs
    else:
        normalize = lambda obs: obs  # noqa: E731
    # The component means of the evaluation episodes are display data for reflection; the
    # fitness of these episodes is not used: the host re-scores the policy in a clean job.
    fitness, episodes = evaluate_policy_ground_truth(task, model, seed, reward_fn, normalize)
    return MemberResult(seed=seed, status="ok", fitness=fitness, checkpoints=checkpoints, episodes=episodes,
                        train_seconds=time.monotonic() - start, env_steps=int(model.num_timesteps))


def policy_params(model, vec_normalize) -> dict[str, np.ndarray]:
    """The policy half of an SB3 MlpPolicy in eureka.training.policy's layout."""
    state = {k: v.detach().cpu().numpy() for k, v in model.policy.state_dict().items()}
    hidden = sorted(int(k.split(".")[2]) for k in state
                    if k.startswith("mlp_extractor.policy_net.") and k.endswith(".weight"))
    names = [f"mlp_extractor.policy_net.{i}" for i in hidden] + ["action_net"]
    params = {}
    for j, name in enumerate(names):
        params[f"layer{j}.kernel"] = state[f"{name}.weight"].T.astype(np.float32)
        params[f"layer{j}.bias"] = state[f"{name}.bias"].astype(np.float32)
    if vec_normalize is not None and vec_normalize.norm_obs:
        params["obs_mean"] = np.asarray(vec_normalize.obs_rms.mean, np.float32)
        params["obs_var"] = np.asarray(vec_normalize.obs_rms.var, np.float32)
    return params
