"""One generation of reward candidates, trained two ways on this machine, side by side.

K <= 16 reward variants per env (CartPole-v1: alive bonus, centring, uprightness, fall penalty
in different proportions; Pendulum-v1: -(angle^2 + a*thdot^2 + b*u^2) with varied a, b and an
optional upright-closeness bonus) x 1 seed, the same number of env steps each:

(a) the JAX population: all K in one jitted, vmapped rejax PPO program
    (`eureka.training.jax_population.train_population`), compile included (and reported
    separately);
(b) stable-baselines3 PPO, one process per candidate, at most `--sb3-procs` (default 2, the
    cores of this machine) at a time, one torch thread each, 8 envs in a DummyVecEnv, the
    reward applied by a VecEnvWrapper, with the same PPO settings as (a) (the JAX trainer's
    per-env defaults, `ppo_settings(env_id, {})`: rollout, epochs, minibatch, learning rate,
    clipping, observation/reward normalisation, network sizes and activation).

`--sb3-sample N` trains only the first N candidates on the SB3 side and extrapolates its wall
time linearly to K (the output says so); its env-steps/s is the measured rate.

Both report the ground truth only: the env's own return, from a deterministic evaluation of
10 episodes. Printed per env: wall time, compile time, CPU time, aggregate env-steps/s, mean
and min fitness, and the ratios, against the issue's target (>= 20x env-steps/s, < 30 s wall).

    python bench/population_vs_sb3.py --k 16 --sb3-sample 4          # both envs, 100k each
    python bench/population_vs_sb3.py --env CartPole-v1 --k 8 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

NUM_ENVS = 8
EVAL_EPISODES = 10
MAX_K = 16


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
    RewardVariant("v8", alive=1.0, centring=0.05, upright=0.2, fall=2.0),
    RewardVariant("v9", alive=1.0, centring=0.2, upright=0.0, fall=5.0),
    RewardVariant("v10", alive=0.5, centring=0.0, upright=0.5, fall=0.0),
    RewardVariant("v11", alive=1.0, centring=0.3, upright=2.0, fall=0.0),
    RewardVariant("v12", alive=3.0, centring=0.1, upright=0.0, fall=0.0),
    RewardVariant("v13", alive=1.0, centring=0.0, upright=0.3, fall=20.0),
    RewardVariant("v14", alive=0.2, centring=0.05, upright=0.1, fall=1.0),
    RewardVariant("v15", alive=1.0, centring=1.0, upright=1.0, fall=1.0),
]


@dataclass(frozen=True)
class PendulumVariant:
    """-(angle^2 + speed * thdot^2 + effort * u^2) + bonus * closeness to upright."""

    name: str
    speed: float
    effort: float
    bonus: float = 0.0

    def compute_reward(self, xp: Any) -> Callable:
        def compute_reward(obs, action, next_obs, terminated):
            theta = xp.arctan2(obs[:, 1], obs[:, 0])
            torque = xp.clip(action[:, 0], -2.0, 2.0)
            angle = -theta ** 2
            speed = -self.speed * obs[:, 2] ** 2
            effort = -self.effort * torque ** 2
            upright = self.bonus * xp.exp(-4.0 * theta ** 2)
            total = angle + speed + effort + upright
            return total, {"angle": angle, "speed": speed, "effort": effort, "upright": upright}

        return compute_reward


PENDULUM_VARIANTS = [
    PendulumVariant(f"p{i}", speed=a, effort=b, bonus=c)
    for i, (a, b, c) in enumerate([
        (0.1, 0.001, 0.0), (0.1, 0.001, 1.0), (0.05, 0.001, 0.0), (0.2, 0.001, 0.0),
        (0.1, 0.01, 0.0), (0.1, 0.0, 0.0), (0.05, 0.0005, 1.0), (0.2, 0.01, 1.0),
        (0.1, 0.001, 2.0), (0.02, 0.001, 0.0), (0.3, 0.001, 0.5), (0.1, 0.05, 0.0),
        (0.15, 0.002, 0.5), (0.08, 0.001, 3.0), (0.1, 0.005, 0.25), (0.01, 0.0001, 1.0),
    ])
]

# env id -> (variants, "solved" threshold of the ground-truth return)
ENVS: dict[str, tuple[list, float]] = {
    "CartPole-v1": (VARIANTS, 475.0),
    "Pendulum-v1": (PENDULUM_VARIANTS, -250.0),
}


@dataclass
class SideResult:
    label: str
    wall_s: float
    cpu_s: float
    env_steps: int
    fitness: dict[str, float]
    compile_s: float | None = None
    # SB3 with --sb3-sample: the wall time measured for the sample, and the candidates in all.
    measured_wall_s: float | None = None
    extrapolated_to: int | None = None
    per_candidate_s: dict[str, float] = field(default_factory=dict)

    @property
    def steps_per_s(self) -> float:
        # Extrapolated: the K candidates' steps over the extrapolated wall (= the sample's rate
        # when the sample is a whole number of rounds of `--sb3-procs`).
        return self.env_steps / self.wall_s

    def solved(self, threshold: float) -> int:
        return sum(v >= threshold for v in self.fitness.values())


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def settings_for(env_id: str) -> dict[str, Any]:
    """The JAX trainer's PPO settings for `env_id`, used by both sides."""
    from eureka.training.jax_population import ppo_settings

    return ppo_settings(env_id, {}).model_dump()


def run_jax(env_id: str, variants: list, timesteps: int) -> SideResult:
    import jax.numpy as jnp

    from eureka.task import TaskSpec
    from eureka.training.jax_population import train_population

    task = TaskSpec.model_validate({
        "name": f"{env_id.lower()}-bench",
        "description": "benchmark",
        "env": {"backend": "jax", "id": env_id},
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
    fitness = {o.candidate_id: (o.members[0].fitness if o.members[0].fitness is not None
                                else float("nan")) for o in outcomes}
    return SideResult("jax population (one program)", wall, cpu_seconds() - cpu0, env_steps,
                      fitness, compile_s)


def _sb3_candidate(job: tuple[str, Any, int, dict[str, Any]]) -> tuple[str, float, int, float]:
    """Train and evaluate one candidate with SB3 PPO; runs in its own process."""
    env_id, variant, timesteps, s = job
    started = time.monotonic()
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper, VecNormalize

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
            actions = np.asarray(self.actions)
            if actions.dtype.kind == "f" and actions.ndim == 1:
                actions = actions[:, None]
            reward, _ = self.reward_fn(self.last_obs, actions, next_obs, terminated)
            self.last_obs = obs
            return obs, np.asarray(reward, np.float32), dones, infos

    activations = {"tanh": torch.nn.Tanh, "swish": torch.nn.SiLU, "silu": torch.nn.SiLU,
                   "relu": torch.nn.ReLU}
    rollout = NUM_ENVS * s["num_steps"]
    venv = make_vec_env(env_id, n_envs=NUM_ENVS, seed=0)
    # The raw observation goes to the reward; normalisation (if any) only to the agent.
    venv = CandidateReward(venv, variant.compute_reward(np))
    venv = VecNormalize(venv, norm_obs=s["normalize_observations"],
                        norm_reward=s["normalize_rewards"], gamma=s["gamma"])
    model = PPO(
        "MlpPolicy", venv, n_steps=s["num_steps"], batch_size=rollout // s["num_minibatches"],
        n_epochs=s["num_epochs"], learning_rate=s["learning_rate"], gamma=s["gamma"],
        gae_lambda=s["gae_lambda"], clip_range=s["clip_eps"], ent_coef=s["ent_coef"],
        vf_coef=s["vf_coef"], max_grad_norm=s["max_grad_norm"], seed=0, device="cpu",
        policy_kwargs={"net_arch": list(s["hidden_layer_sizes"]),
                       "activation_fn": activations[s["activation"]]},
    )
    model.learn(total_timesteps=timesteps)
    eval_env = VecNormalize(DummyVecEnv([lambda: Monitor(gym.make(env_id))]),
                            norm_obs=s["normalize_observations"], norm_reward=False,
                            training=False)
    if s["normalize_observations"]:
        eval_env.obs_rms = venv.obs_rms
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL_EPISODES,
                                     deterministic=True)
    venv.close()
    eval_env.close()
    # SB3 rounds up to whole rollouts, as the JAX trainer does.
    steps = -(-timesteps // rollout) * rollout
    return variant.name, float(mean_return), steps, time.monotonic() - started


def run_sb3(env_id: str, variants: list, timesteps: int, sample: int, procs: int) -> SideResult:
    settings = settings_for(env_id)
    trained = variants[:sample]
    jobs = [(env_id, v, timesteps, settings) for v in trained]
    # One fresh process per candidate ("spawn": this process has JAX's threads running,
    # which fork does not copy safely), `procs` at a time.
    context = multiprocessing.get_context("spawn")
    cpu0, start = cpu_seconds(resource.RUSAGE_CHILDREN), time.monotonic()
    with context.Pool(procs, maxtasksperchild=1) as pool:
        results = pool.map(_sb3_candidate, jobs, chunksize=1)
        pool.close()
        pool.join()
    measured = time.monotonic() - start
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0
    label = f"sb3 PPO ({procs} procs, 1/candidate)"
    extrapolated = len(trained) < len(variants)
    # Linear in rounds of `procs` parallel processes (linear in K when the sample is a whole
    # number of rounds, e.g. 4 of 16 on 2 procs: x 4).
    rounds = lambda n: -(-n // procs)  # noqa: E731
    wall = measured * rounds(len(variants)) / rounds(len(trained)) if extrapolated else measured
    env_steps = results[0][2] * len(variants)
    return SideResult(label, wall, cpu, env_steps, {r[0]: r[1] for r in results},
                      measured_wall_s=measured if extrapolated else None,
                      extrapolated_to=len(variants) if extrapolated else None,
                      per_candidate_s={r[0]: r[3] for r in results})


def report(env_id: str, k: int, timesteps: int, jax_side: SideResult, sb3_side: SideResult,
           load: tuple[float, float]) -> dict[str, Any]:
    threshold = ENVS[env_id][1]
    print(f"\n== {env_id}: K={k} rewards x 1 seed x {timesteps:,} steps, {NUM_ENVS} envs each; "
          f"{os.cpu_count()} cores; load average {load[0]:.2f} before, {load[1]:.2f} after")
    print(f"{'':34} {'wall s':>8} {'compile s':>9} {'cpu s':>8} {'env-steps/s':>12} "
          f"{'mean fit':>9} {'min fit':>8} {'solved':>7}")
    for side in (jax_side, sb3_side):
        values = np.array(list(side.fitness.values()), dtype=float)
        wall = f"{side.wall_s:8.1f}" + ("*" if side.extrapolated_to else " ")
        compile_s = f"{side.compile_s:9.1f}" if side.compile_s is not None else f"{'-':>9}"
        print(f"{side.label:34} {wall}{compile_s} {side.cpu_s:8.1f} {side.steps_per_s:12,.0f} "
              f"{np.nanmean(values):9.1f} {np.nanmin(values):8.1f} "
              f"{side.solved(threshold):>3}/{len(values):<3}")
    if sb3_side.extrapolated_to:
        print(f"* sb3 wall EXTRAPOLATED linearly: trained {len(sb3_side.fitness)} of "
              f"{sb3_side.extrapolated_to} candidates in {sb3_side.measured_wall_s:.1f} s "
              f"measured, scaled by rounds of parallel processes; env-steps/s = K x steps / that "
              f"wall. Its fitness is over the {len(sb3_side.fitness)} trained.")
    print("sb3 per-candidate process seconds: "
          + " ".join(f"{n}={t:.0f}" for n, t in sb3_side.per_candidate_s.items()))
    print("fitness jax: " + " ".join(f"{n}={v:.0f}" for n, v in jax_side.fitness.items()))
    print("fitness sb3: " + " ".join(f"{n}={v:.0f}" for n, v in sb3_side.fitness.items()))
    steps_ratio = jax_side.steps_per_s / sb3_side.steps_per_s
    wall_ratio = sb3_side.wall_s / jax_side.wall_s
    jax_run_s = jax_side.wall_s - (jax_side.compile_s or 0.0)
    print(f"ratio env-steps/s (jax/sb3, compile incl.): {steps_ratio:.1f}x  "
          f"[target >= 20x: {'MET' if steps_ratio >= 20 else 'NOT MET'}]; "
          f"excl. compile: {(jax_side.env_steps / jax_run_s) / sb3_side.steps_per_s:.1f}x")
    print(f"ratio wall (sb3/jax, compile incl.): {wall_ratio:.1f}x; jax generation wall "
          f"{jax_side.wall_s:.1f} s [target < 30 s: "
          f"{'MET' if jax_side.wall_s < 30 else 'NOT MET'}]")
    return {side.label: {**asdict(side), "steps_per_s": side.steps_per_s}
            for side in (jax_side, sb3_side)} | {
        "load_average": list(load), "steps_ratio": steps_ratio, "wall_ratio": wall_ratio}


def loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return handle.read().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=16, help=f"candidates (at most {MAX_K})")
    parser.add_argument("--env", choices=[*ENVS, "both"], default="both")
    parser.add_argument("--timesteps", type=int, default=100_000, help="env steps per candidate")
    parser.add_argument("--sb3-sample", type=int, default=None,
                        help="train only this many candidates with SB3; extrapolate its wall")
    parser.add_argument("--sb3-procs", type=int, default=2, help="SB3 processes at a time")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not 1 <= args.k <= MAX_K:
        parser.error(f"--k must be in 1..{MAX_K}")
    sample = min(args.sb3_sample or args.k, args.k)
    env_ids = list(ENVS) if args.env == "both" else [args.env]

    print(f"/proc/loadavg at start: {loadavg()}", flush=True)
    figures: dict[str, Any] = {}
    for env_id in env_ids:
        variants = ENVS[env_id][0][: args.k]
        load_before = os.getloadavg()[0]
        jax_side = run_jax(env_id, variants, args.timesteps)
        print(f"[{env_id}] jax done: {jax_side.wall_s:.1f} s", flush=True)
        sb3_side = run_sb3(env_id, variants, args.timesteps, sample, args.sb3_procs)
        load_after = os.getloadavg()[0]
        figures[env_id] = report(env_id, len(variants), args.timesteps, jax_side, sb3_side,
                                 (load_before, load_after))
    print(f"\n/proc/loadavg at end: {loadavg()}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
