"""One generation of reward candidates, trained two ways on this machine, side by side.

K CartPole rewards (variants of one sensible reward: alive bonus, centring, uprightness, fall
penalty in different proportions) x 1 seed, the same number of env steps each:

(a) the JAX population: all K in one jitted, vmapped rejax PPO program
    (`eureka.training.jax_population.train_population`), compile included;
(b) stable-baselines3 PPO, one candidate after another, in this process, one torch thread,
    8 envs in a DummyVecEnv, the reward applied by a VecEnvWrapper to the true next
    observation, with the same PPO settings as (a) (rollout, epochs, minibatch, learning
    rate, clipping, reward normalisation, 64x64 tanh networks), so the gradient work per env
    step is the same.

Both report the ground truth only: CartPole's own return, from a deterministic evaluation of
10 episodes. Printed: wall time, CPU time of this process (a shared machine shows up as CPU
time well below wall time x cores used), aggregate env-steps/s, fitness, and the ratios.

    python bench/population_vs_sb3.py                       # K=8 x 100k steps
    python bench/population_vs_sb3.py --k 4 --timesteps 50000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

NUM_ENVS = 8
EVAL_EPISODES = 10


@dataclass(frozen=True)
class RewardVariant:
    name: str
    alive: float
    centring: float
    upright: float
    fall: float

    def compute_reward(self, xp: Any) -> Callable:
        """The variant as a reward of the eureka interface, over array module `xp`."""

        def compute_reward(obs, action, next_obs, terminated):
            ended = terminated.astype(xp.float32)
            alive = self.alive * (1.0 - ended)
            centring = -self.centring * xp.abs(next_obs[:, 0])
            upright = -self.upright * xp.abs(next_obs[:, 2])
            fall = -self.fall * ended
            total = alive + centring + upright + fall
            return total, {"alive": alive, "centring": centring, "upright": upright, "fall": fall}

        return compute_reward


VARIANTS = [
    RewardVariant("v0", alive=1.0, centring=0.0, upright=0.0, fall=0.0),
    RewardVariant("v1", alive=1.0, centring=0.1, upright=0.0, fall=0.0),
    RewardVariant("v2", alive=1.0, centring=0.0, upright=1.0, fall=0.0),
    RewardVariant("v3", alive=1.0, centring=0.1, upright=1.0, fall=0.0),
    RewardVariant("v4", alive=1.0, centring=0.0, upright=0.0, fall=10.0),
    RewardVariant("v5", alive=0.5, centring=0.2, upright=0.5, fall=5.0),
    RewardVariant("v6", alive=2.0, centring=0.0, upright=2.0, fall=1.0),
    RewardVariant("v7", alive=1.0, centring=0.5, upright=0.5, fall=0.0),
]

# The PPO settings of the JAX trainer's CartPole defaults, written out for SB3.
PPO_SETTINGS = {"num_steps": 64, "num_epochs": 5, "num_minibatches": 4, "learning_rate": 7.5e-4,
                "max_grad_norm": 0.5, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.2,
                "vf_coef": 0.5, "ent_coef": 0.01, "normalize_rewards": True}


@dataclass
class SideResult:
    label: str
    wall_s: float
    cpu_s: float
    env_steps: int
    fitness: dict[str, float]
    compile_s: float | None = None

    @property
    def steps_per_s(self) -> float:
        return self.env_steps / self.wall_s

    @property
    def solved(self) -> int:
        return sum(v >= 475 for v in self.fitness.values())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_jax(variants: list[RewardVariant], timesteps: int) -> SideResult:
    import jax.numpy as jnp

    from eureka.task import TaskSpec
    from eureka.training.jax_population import ppo_settings, train_population

    assert ppo_settings("CartPole-v1", {}).model_dump(include=set(PPO_SETTINGS)) == PPO_SETTINGS
    task = TaskSpec.model_validate({
        "name": "cartpole-bench",
        "description": "balance the pole",
        "env": {"backend": "jax", "id": "CartPole-v1"},
        "fitness": {"metric": "episode_return", "eval_episodes": EVAL_EPISODES},
        "training": {"timesteps": timesteps, "num_envs": NUM_ENVS, "seeds": [0],
                     "checkpoints": 5},
    })
    chunk_ends: list[float] = []
    cpu0, start = cpu_seconds(), time.monotonic()
    outcomes = train_population(
        task, [(v.name, v.compute_reward(jnp)) for v in variants],
        progress=lambda step, total: chunk_ends.append(time.monotonic()),
    )
    wall = time.monotonic() - start
    # The first chunk includes the compile: what it took beyond a typical later chunk.
    later = np.diff(chunk_ends)
    compile_s = (chunk_ends[0] - start) - (float(np.median(later)) if len(later) else 0.0)
    env_steps = sum(m.env_steps for o in outcomes for m in o.members)
    return SideResult("jax population (one program)", wall, cpu_seconds() - cpu0, env_steps,
                      {o.candidate_id: o.members[0].fitness for o in outcomes}, compile_s)


def run_sb3(variants: list[RewardVariant], timesteps: int) -> SideResult:
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize

    torch.set_num_threads(1)

    class CandidateReward(VecEnvWrapper):
        """The candidate's reward on the true next observation (SB3 resets on done)."""

        def __init__(self, venv, reward_fn):
            super().__init__(venv)
            self.reward_fn = reward_fn
            self.last_obs = None
            self.actions = None

        def reset(self):
            self.last_obs = self.venv.reset()
            return self.last_obs

        def step_async(self, actions):
            self.actions = actions
            self.venv.step_async(actions)

        def step_wait(self):
            obs, _, dones, infos = self.venv.step_wait()
            next_obs = obs.copy()
            terminated = np.zeros(len(dones), bool)
            for i, info in enumerate(infos):
                if dones[i]:
                    next_obs[i] = info["terminal_observation"]
                    terminated[i] = not info.get("TimeLimit.truncated", False)
            reward, _ = self.reward_fn(self.last_obs, self.actions, next_obs, terminated)
            self.last_obs = obs
            return obs, np.asarray(reward, np.float32), dones, infos

    s = PPO_SETTINGS
    rollout = NUM_ENVS * s["num_steps"]
    fitness: dict[str, float] = {}
    cpu0, start = cpu_seconds(), time.monotonic()
    for variant in variants:
        venv = make_vec_env("CartPole-v1", n_envs=NUM_ENVS, seed=0)
        venv = CandidateReward(venv, variant.compute_reward(np))
        venv = VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=s["gamma"])
        model = PPO(
            "MlpPolicy", venv, n_steps=s["num_steps"], batch_size=rollout // s["num_minibatches"],
            n_epochs=s["num_epochs"], learning_rate=s["learning_rate"], gamma=s["gamma"],
            gae_lambda=s["gae_lambda"], clip_range=s["clip_eps"], ent_coef=s["ent_coef"],
            vf_coef=s["vf_coef"], max_grad_norm=s["max_grad_norm"], seed=0, device="cpu",
            policy_kwargs={"net_arch": [64, 64], "activation_fn": torch.nn.Tanh},
        )
        model.learn(total_timesteps=timesteps)
        eval_env = Monitor(gym.make("CartPole-v1"))
        mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL_EPISODES,
                                         deterministic=True)
        fitness[variant.name] = float(mean_return)
        venv.close()
        eval_env.close()
    wall = time.monotonic() - start
    # SB3 rounds up to whole rollouts, as the JAX trainer does.
    steps_each = -(-timesteps // rollout) * rollout
    return SideResult("stable-baselines3 PPO (sequential)", wall, cpu_seconds() - cpu0,
                      steps_each * len(variants), fitness)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8, help="candidates (at most 8)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="env steps per candidate")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    variants = VARIANTS[: args.k]

    load_before = os.getloadavg()[0]
    jax_side = run_jax(variants, args.timesteps)
    sb3_side = run_sb3(variants, args.timesteps)
    load_after = os.getloadavg()[0]

    print(f"K={len(variants)} CartPole rewards x 1 seed x {args.timesteps:,} steps, "
          f"{NUM_ENVS} envs each; {os.cpu_count()} cores; "
          f"load average {load_before:.1f} before, {load_after:.1f} after")
    header = f"{'':36} {'wall s':>8} {'cpu s':>8} {'env-steps/s':>12} {'solved':>7}  fitness"
    print(header)
    for side in (jax_side, sb3_side):
        fitness = " ".join(f"{v:.0f}" for v in side.fitness.values())
        print(f"{side.label:36} {side.wall_s:8.1f} {side.cpu_s:8.1f} {side.steps_per_s:12,.0f} "
              f"{side.solved:>3}/{len(side.fitness):<3}  {fitness}")
    print(f"jax compile (first chunk beyond a later one): {jax_side.compile_s:.1f} s")
    print(f"ratio, wall time incl. compile: {sb3_side.wall_s / jax_side.wall_s:.1f}x; "
          f"env-steps per CPU second: "
          f"{(jax_side.env_steps / jax_side.cpu_s) / (sb3_side.env_steps / sb3_side.cpu_s):.1f}x")
    if args.json:
        figures = {side.label: {**asdict(side), "steps_per_s": side.steps_per_s}
                   for side in (jax_side, sb3_side)}
        figures["load_average"] = [load_before, load_after]
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
