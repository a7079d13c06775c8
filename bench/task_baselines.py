"""Train a task's human and sparse rewards (trusted files, in this process) and print their
fitness per seed: the baseline figures of tasks/README.md.

    python3 bench/task_baselines.py tasks/cartpole.yaml [--timesteps N] [--seeds 0 1 2] [--json out.json]

JAX tasks train both rewards x all seeds as one population program; gymnasium tasks one
stable-baselines3 run per (reward, seed). Figures depend on the budget: say which you used.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from eureka.reward import load_reward
from eureka.task import load_task


def measure(path: Path, timesteps: int | None, seeds: list[int] | None) -> dict:
    task = load_task(path)
    if timesteps:
        task.training.timesteps = timesteps
    if seeds:
        task.training.seeds = seeds
    task.fitness.target = None  # no early stop: every seed trains the whole budget
    rewards = [(name, load_reward(task.resolve(getattr(task.baselines, name))))
               for name in ("human", "sparse") if getattr(task.baselines, name) is not None]
    started = time.monotonic()
    if task.env.backend == "jax":
        from eureka.training.jax_population import train_population

        outcomes = {o.candidate_id: o.members for o in train_population(task, rewards)}
    else:
        from eureka.training.sb3_trainer import train_member

        outcomes = {name: [train_member(task, fn, seed) for seed in task.training.seeds] for name, fn in rewards}
    result = {"task": task.name, "backend": task.env.backend, "metric": task.fitness.metric,
              "timesteps": task.training.timesteps, "seeds": task.training.seeds,
              "wall_s": round(time.monotonic() - started, 1)}
    for name, members in outcomes.items():
        result[name] = [None if m.fitness is None else round(m.fitness, 3) for m in members]
        errors = [m.error for m in members if m.error]
        if errors:
            result[f"{name}_errors"] = errors
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="+", type=Path)
    parser.add_argument("--timesteps", type=int)
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--json", type=Path, help="append one JSON line per task here")
    args = parser.parse_args()
    for path in args.tasks:
        result = measure(path, args.timesteps, args.seeds)
        print(json.dumps(result), flush=True)
        if args.json:
            with args.json.open("a") as out:
                out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
