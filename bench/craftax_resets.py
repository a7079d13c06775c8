"""How much a new world per step costs in Craftax-Classic, and what drawing worlds ahead saves.

Random actions in `--envs` envs of tasks/craftax_pickaxe.yaml's env, `--steps` steps per
chunk, vmapped and scanned in one jitted program, three ways of starting the next episode:

- every-step: a new world for every env on every step, kept where an episode ended
  (what selecting a reset under `vmap` costs: gymnax's auto-reset, or the population
  trainer without `costly_reset`);
- per-chunk: one world per env drawn once per chunk, used where an episode ends (the
  population trainer's `costly_reset`: a chunk is one PPO iteration of `num_steps` steps);
- no-reset: never a new world (an upper bound: episodes just run on).

Printed: env-steps/s of each (after compiling; the best of `--repeats` runs) and the compile
time, as one JSON line.

    PYTHONPATH=. nice -n 19 python3 bench/craftax_resets.py --envs 32 --steps 64
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from eureka.envs.gymnax_backend import make_env  # noqa: E402
from eureka.task import load_task  # noqa: E402

MODES = ("every-step", "per-chunk", "no-reset")


def make_chunk(env, params, mode: str, envs: int, steps: int):
    reset = jax.vmap(env.reset_env, in_axes=(0, None))
    step = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))
    select = lambda done, a, b: jax.vmap(jax.lax.select)(  # noqa: E731
        jnp.broadcast_to(done.reshape(done.shape + (1,) * (a.ndim - 1)), a.shape), a, b)

    def chunk(state, key):
        key, key_start = jax.random.split(key)
        start = reset(jax.random.split(key_start, envs), params)[1] if mode == "per-chunk" else None

        def one(state, key):
            key_action, key_step, key_reset = jax.random.split(key, 3)
            action = jax.random.randint(key_action, (envs,), 0, env.num_actions)
            _, next_state, _, done, _ = step(jax.random.split(key_step, envs), state, action, params)
            if mode == "every-step":
                fresh = reset(jax.random.split(key_reset, envs), params)[1]
                next_state = jax.tree.map(lambda a, b: select(done, a, b), fresh, next_state)
            elif mode == "per-chunk":
                next_state = jax.tree.map(lambda a, b: select(done, a, b), start, next_state)
            return next_state, done.sum()

        state, ended = jax.lax.scan(one, state, jax.random.split(key, steps))
        return state, ended.sum()

    return jax.jit(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "tasks" / "craftax_pickaxe.yaml")
    parser.add_argument("--envs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env, params = make_env(load_task(args.task).env)
    state = jax.jit(jax.vmap(env.reset_env, in_axes=(0, None)))(
        jax.random.split(jax.random.PRNGKey(0), args.envs), params)[1]
    result = {"envs": args.envs, "steps_per_chunk": args.steps, "devices": str(jax.devices())}
    for mode in MODES:
        chunk = make_chunk(env, params, mode, args.envs, args.steps)
        started = time.monotonic()
        out, _ = jax.block_until_ready(chunk(state, jax.random.PRNGKey(1)))
        first = time.monotonic() - started
        best = float("inf")
        for repeat in range(args.repeats):
            started = time.monotonic()
            out, _ = jax.block_until_ready(chunk(out, jax.random.PRNGKey(2 + repeat)))
            best = min(best, time.monotonic() - started)
        result[mode] = {"steps_per_s": round(args.envs * args.steps / best), "compile_s": round(first - best, 1)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
