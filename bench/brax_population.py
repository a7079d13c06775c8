"""One generation of 16 candidate rewards on a brax locomotion task, trained as ONE program.

The candidates are not written by an LLM: 12 are the Ant human reward
(tasks/rewards/ant_human.py) with other weights, 4 have other structures (sparse running,
a target speed, exponential speed, forward progress only). Each trains with `--envs` envs
(default 4096) for `--timesteps` env steps, all 16 x `--seeds` members in one jitted, vmapped
rejax PPO program (`eureka.training.jax_population.train_population`).

Printed: the devices, compile (the first chunk's time minus a later chunk's, which is the
same work compiled), training and evaluation time, and aggregate env-steps/s over the whole
run and in the steady state (chunks after the first). Fitness is the env's own return.

    python bench/brax_population.py                         # GPU-sized: 16 x 4096 envs
    python bench/brax_population.py --smoke                 # a CPU check of this script
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this repository's eureka, before any other installed copy


@dataclass(frozen=True)
class Weights:
    forward: float = 1.0
    alive: float = 1.0
    level: float = 0.2
    sideways: float = 0.1
    effort: float = 0.1


def weighted_human(w: Weights):
    """tasks/rewards/ant_human.py with weights `w`."""
    import jax.numpy as jnp

    def compute_reward(obs, action, next_obs, terminated):
        forward = w.forward * next_obs[:, 13]
        alive = w.alive * (1.0 - terminated.astype(jnp.float32))
        level = w.level * (1.0 - 2.0 * (next_obs[:, 2] ** 2 + next_obs[:, 3] ** 2))
        sideways = -w.sideways * next_obs[:, 14] ** 2
        effort = -w.effort * jnp.sum(action ** 2, axis=1)
        total = forward + alive + level + sideways + effort
        return total, {"forward": forward, "alive": alive, "level": level, "sideways": sideways,
                       "effort": effort}

    return compute_reward


def other_structures():
    import jax.numpy as jnp

    def sparse_running(obs, action, next_obs, terminated):
        running = (next_obs[:, 13] > 1.0).astype(jnp.float32)
        return running, {"running": running}

    def target_speed(obs, action, next_obs, terminated):
        speed = -jnp.abs(next_obs[:, 13] - 3.0)
        alive = 1.0 - terminated.astype(jnp.float32)
        return speed + alive, {"speed": speed, "alive": alive}

    def exp_speed(obs, action, next_obs, terminated):
        speed = jnp.exp(jnp.clip(next_obs[:, 13], -5.0, 3.0)) - 1.0
        effort = -0.05 * jnp.sum(action ** 2, axis=1)
        return speed + effort, {"speed": speed, "effort": effort}

    def forward_only(obs, action, next_obs, terminated):
        forward = next_obs[:, 13]
        return forward, {"forward": forward}

    return [("sparse_running", sparse_running), ("target_speed", target_speed),
            ("exp_speed", exp_speed), ("forward_only", forward_only)]


def candidates(count: int):
    variants = [Weights()] + [
        Weights(forward=f, alive=a, effort=e)
        for f in (0.5, 1.0, 2.0) for a, e in ((0.5, 0.05), (1.0, 0.5), (2.0, 0.1))
    ] + [Weights(level=0.0, sideways=0.0), Weights(level=1.0), Weights(sideways=1.0)]
    population = [(f"human_{i:02d}", weighted_human(w)) for i, w in enumerate(variants[:12])]
    population += other_structures()
    if count > len(population):
        raise SystemExit(f"--candidates: at most {len(population)}")
    return population[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=str(ROOT / "tasks" / "ant.yaml"))
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--envs", type=int, default=4096, help="envs per member")
    parser.add_argument("--timesteps", type=int, default=2_000_000, help="env steps per member")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--episode-steps", type=int, default=1000)
    parser.add_argument("--eval-episodes", type=int, default=8)
    parser.add_argument("--brax-backend", default=None,
                        help="brax pipeline: generalized (brax's default), positional, spring, mjx")
    parser.add_argument("--minibatches", type=int, default=None)
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run (2 envs, 2 PPO iterations, short episodes) to check the script")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if args.smoke:
        args.envs, args.checkpoints, args.episode_steps, args.eval_episodes = 2, 2, 32, 1
        args.timesteps = 2 * args.envs * 16
        args.minibatches = args.minibatches or 2

    import jax

    from eureka.task import TaskSpec, load_task
    from eureka.training.jax_population import train_population

    data = load_task(args.task).model_dump(mode="json")
    data["env"]["max_episode_steps"] = args.episode_steps
    if args.brax_backend:
        data["env"]["kwargs"]["backend"] = args.brax_backend
    data["fitness"]["eval_episodes"] = args.eval_episodes
    hyperparams = dict(data["training"]["hyperparams"])
    if args.minibatches:
        hyperparams["num_minibatches"] = args.minibatches
    if args.smoke:
        hyperparams.update(num_epochs=1, hidden_layer_sizes=[32, 32])
    data["training"].update(timesteps=args.timesteps, num_envs=args.envs,
                            seeds=list(range(args.seeds)), checkpoints=args.checkpoints,
                            hyperparams=hyperparams)
    task = TaskSpec.model_validate(data)
    population = candidates(args.candidates)
    members = len(population) * args.seeds
    print(f"devices: {jax.devices()}")
    print(f"task {task.name} ({task.env.id}, {task.env.kwargs or 'default pipeline'}): "
          f"{len(population)} candidates x {args.seeds} seed(s) = {members} members x "
          f"{args.envs} envs = {members * args.envs} envs, {args.timesteps:,} steps per member",
          flush=True)

    marks: list[tuple[float, int]] = []
    started = time.monotonic()

    def progress(step: int, total: int) -> None:
        marks.append((time.monotonic(), step))
        print(f"  {step:,}/{total:,} steps per member after {marks[-1][0] - started:.1f} s",
              flush=True)

    outcomes = train_population(task, population, progress=progress)
    wall = time.monotonic() - started

    steps_per_member = marks[-1][1]
    first_chunk = marks[0][0] - started
    later = [(t1 - t0, s1 - s0) for (t0, s0), (t1, s1) in zip(marks, marks[1:])]
    figures = {
        "members": members, "envs_per_member": args.envs, "steps_per_member": steps_per_member,
        "total_env_steps": members * steps_per_member, "wall_s": round(wall, 2),
        "first_chunk_s": round(first_chunk, 2), "eval_s": round(wall - (marks[-1][0] - started), 2),
        "env_steps_per_s": round(members * steps_per_member / wall),
    }
    if later:
        seconds, steps = map(sum, zip(*later))
        steady = members * steps / seconds
        # The first chunk is compile + the same work as a later chunk of its size.
        first_steps = marks[0][1]
        figures["compile_s"] = round(max(first_chunk - first_steps * members / steady, 0.0), 2)
        figures["steady_env_steps_per_s"] = round(steady)
    fitness = {o.candidate_id: [m.fitness for m in o.members] for o in outcomes}
    failed = {o.candidate_id: [m.error for m in o.members if m.error] for o in outcomes}
    figures["failed"] = {k: v for k, v in failed.items() if v}
    figures["fitness"] = fitness

    print(f"compile: {figures.get('compile_s', 'n/a')} s (first chunk {first_chunk:.1f} s); "
          f"evaluation {figures['eval_s']} s (its compile included); wall {wall:.1f} s")
    print(f"aggregate env-steps/s: {figures['env_steps_per_s']:,} over the whole run"
          + (f", {figures['steady_env_steps_per_s']:,} in the steady state" if later else ""))
    for cid, values in fitness.items():
        shown = ", ".join("failed" if v is None else f"{v:.1f}" for v in values)
        print(f"  {cid:16s} env return {shown}")
    bad = [cid for cid, values in fitness.items()
           if any(v is None or not math.isfinite(v) for v in values)]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if bad:
        raise SystemExit(f"members without a finite fitness: {bad}")


if __name__ == "__main__":
    main()
