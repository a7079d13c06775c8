"""How fast the embedded model writes a reward function on this machine, idle and under load.

For each load (idle, then 1 and 2 CPU-busy numpy processes) and each thread setting, one
~300-token reward function from a fresh prompt (a run id at its start defeats the prefix cache):
time to first token (reading the prompt), decode tokens/s, and seconds per 300 tokens. Then
the prefix-cache saving: the same prompt sampled twice in a row. The "other load" column is the
CPU (in cores) used meanwhile by processes that are neither this one nor its busy helpers: on a
shared machine, read each row with it.

    python bench/local_llm_speed.py                  # the default model (Qwen2.5-Coder-1.5B)
    python bench/local_llm_speed.py --model smollm2  # the tiny test model, a quick dry run
    OMP_WAIT_POLICY=ACTIVE python bench/local_llm_speed.py  # compare with spinning OpenMP threads
    nice -n -10 python bench/local_llm_speed.py --repeats 2  # shielded from other users (as root)
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

from eureka.design.llm.base import GenerationSettings, Message
from eureka.design.llm.local import LocalClient

SYSTEM = """You are a reward engineer. You write reward functions for reinforcement learning \
environments as pure functions of JAX arrays. Reply with one ```python code block and nothing else."""

USER = """Environment: MountainCar-v0 (gymnax). A car sits in a valley between two hills and must \
reach the flag on top of the right hill. The engine is too weak to climb directly: the car must \
build momentum by driving back and forth.

Observation (batched, shape (N, 2)):
- obs[:, 0]: position of the car along the x-axis, in [-1.2, 0.6]
- obs[:, 1]: velocity of the car, in [-0.07, 0.07]
Actions: 0 = accelerate left, 1 = do not accelerate, 2 = accelerate right.
The episode ends when position >= 0.5 (the goal), or after 200 steps.
Dynamics: velocity += (action - 1) * 0.001 - 0.0025 * cos(3 * position); position += velocity.

Write the reward with this signature:

def compute_reward(obs, action, next_obs):
    # obs, next_obs: float32 arrays of shape (N, 2); action: int32 array of shape (N,)
    # return (reward, components): reward of shape (N,), components a dict of (N,) arrays
    ...

Rules: `import jax.numpy as jnp` at the top; no Python control flow on array values; every \
returned array has shape (N,); name each term in `components`. Reward progress toward the goal, \
the mechanical energy the car gains, and a bonus for reaching the flag. Explain each term in a \
short comment."""

MAX_TOKENS = 300
# Stops by itself when the benchmark dies, however it dies.
BUSY_LOOP = """import os, sys
import numpy as np
parent = int(sys.argv[1])
a = np.random.rand(256, 256)
while os.getppid() == parent:
    a = a @ a
    a /= a.max()
"""


@dataclass(frozen=True)
class ThreadSetting:
    label: str
    n_threads: int  # decoding
    n_threads_batch: int  # reading the prompt


@dataclass(frozen=True)
class Sample:
    time_to_first_token_s: float
    decode_tokens_per_s: float
    completion_tokens: int
    prompt_tokens: int
    total_s: float
    other_load_cores: float

    @property
    def seconds_per_300_tokens(self) -> float:
        return self.time_to_first_token_s + 300 / self.decode_tokens_per_s


class ProgressRecorder:
    def __init__(self) -> None:
        self.started_at = 0.0
        self.first_token_at = 0.0
        self.decode_rate = 0.0

    def __call__(self, tokens: int, tokens_per_second: float) -> None:
        if tokens == 0:
            self.started_at = time.monotonic()
        elif tokens == 1:
            self.first_token_at = time.monotonic()
        else:
            self.decode_rate = tokens_per_second


class OtherLoad:
    """CPU used by everything except this process and `helpers`, from /proc (Linux)."""

    def __init__(self, helpers: list[subprocess.Popen]) -> None:
        self.helper_pids = [p.pid for p in helpers]
        self.ticks_per_s = os.sysconf("SC_CLK_TCK")
        self.started_at = time.monotonic()
        self.start_ticks = self.others_ticks()

    def others_ticks(self) -> float:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
        busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
        own = sum(os.times()[:2]) * self.ticks_per_s
        helpers = 0
        for pid in self.helper_pids:
            with open(f"/proc/{pid}/stat") as stat:
                values = stat.read().rsplit(")", 1)[1].split()
            helpers += int(values[11]) + int(values[12])  # utime, stime
        return busy - own - helpers

    def cores(self) -> float:
        elapsed = time.monotonic() - self.started_at
        return max(0.0, (self.others_ticks() - self.start_ticks) / self.ticks_per_s / elapsed)


def sample_once(client: LocalClient, run_id: str, helpers: list[subprocess.Popen]) -> Sample:
    recorder = ProgressRecorder()
    client.on_progress = recorder
    messages = [Message("system", f"Run {run_id}. {SYSTEM}"), Message("user", USER)]
    other_load = OtherLoad(helpers)
    completion = client.complete(messages, GenerationSettings(temperature=0.7, max_tokens=MAX_TOKENS))
    return Sample(
        other_load_cores=other_load.cores(),
        time_to_first_token_s=recorder.first_token_at - recorder.started_at,
        decode_tokens_per_s=recorder.decode_rate,
        completion_tokens=completion.completion_tokens,
        prompt_tokens=completion.prompt_tokens,
        total_s=completion.latency_s,
    )


def start_busy_processes(count: int) -> list[subprocess.Popen]:
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, "-c", BUSY_LOOP, str(os.getpid())]
    return [subprocess.Popen(command, env=environment) for _ in range(count)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="", help='text after "local:" ("" = the default model)')
    parser.add_argument("--loads", default="0,1,2", help="numbers of CPU-busy processes to compare")
    parser.add_argument("--repeats", type=int, default=1, help="samples per row")
    args = parser.parse_args()

    settings = [ThreadSetting("1", 1, 1), ThreadSetting("2", 2, 2), ThreadSetting("1 (+2 prompt)", 1, 2)]
    clients = {s.label: LocalClient.from_spec(args.model, n_threads=s.n_threads, n_threads_batch=s.n_threads_batch,
                                              seed=0) for s in settings}
    first = next(iter(clients.values()))
    load_started = time.monotonic()
    first.complete([Message("user", "hi")], GenerationSettings(max_tokens=1))  # load, warm the page cache
    print(f"model {first.model_path}  ({os.cpu_count()} cores, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')})")
    print(f"load + 1 token: {time.monotonic() - load_started:.1f} s\n")

    run_ids = (f"{n:04d}" for n in itertools.count())
    header = (f"{'busy procs':>10} {'threads':>14} {'prompt tok':>10} {'1st token s':>11} "
              f"{'decode tok/s':>12} {'gen tok':>7} {'total s':>8} {'s / 300 tok':>11} {'other load':>10}")
    print(header)
    print("-" * len(header))
    for busy in (int(n) for n in args.loads.split(",")):
        processes = start_busy_processes(busy)
        try:
            time.sleep(1.0 if busy else 0.0)
            for setting in [s for _ in range(args.repeats) for s in settings]:
                result = sample_once(clients[setting.label], next(run_ids), processes)
                print(f"{busy:>10} {setting.label:>14} {result.prompt_tokens:>10} "
                      f"{result.time_to_first_token_s:>11.1f} {result.decode_tokens_per_s:>12.1f} "
                      f"{result.completion_tokens:>7} {result.total_s:>8.1f} "
                      f"{result.seconds_per_300_tokens:>11.1f} {result.other_load_cores:>10.2f}", flush=True)
        finally:
            stop(processes)

    print("\nprefix cache (threads 2, idle): the same prompt sampled twice in a row")
    client = clients["2"]
    run_id = next(run_ids)
    cold = sample_once(client, run_id, [])
    warm = sample_once(client, run_id, [])
    print(f"  first token: {cold.time_to_first_token_s:.2f} s cold, {warm.time_to_first_token_s:.2f} s "
          f"with the cached prefix ({cold.prompt_tokens} prompt tokens); whole sample "
          f"{cold.total_s:.1f} s -> {warm.total_s:.1f} s (other load {cold.other_load_cores:.2f}, "
          f"{warm.other_load_cores:.2f} cores)")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
