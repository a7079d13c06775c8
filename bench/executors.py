"""One generation of 16 candidates on the `local` and the `ray` executor, side by side.

The 16 candidates are the human CartPole reward with 16 weightings (gymnasium backend, tiny
budget), trained by eureka's TrainingRunner exactly as the loop trains a generation. `local`:
this machine's sandbox, `--slots` jobs at once. `ray`: a real local Ray cluster started here
(a head that runs no jobs plus one worker node with `--slots` CPUs, both on loopback), each
job packed, sent, run in the worker node's own sandbox and unpacked on the head. Reported:

- the generation's wall time on each executor and the Ray overhead: per job (the extra wall
  time per job slot) and as a share of the Ray generation's wall time; what a job costs on the
  node beyond the sandboxed job itself (unpacking and packing the scratch folder);
- a MODEL, not a measurement: the expected wall time of the same generation on 4 and 16 GPU
  nodes, one job at a time per node, from a list-scheduling simulation over the recorded job
  durations plus the measured per-job overhead. It leaves out what a real cluster adds
  (network transfer of the scratch folders, GPU speed-ups, node start-up).

    python bench/executors.py [--candidates 16] [--slots 2] [--timesteps 2048] [--json out.json]
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's eureka and its test cluster helper

from eureka.executor.local import Executor, ExecutorSpec, LocalExecutor, make_executor, placement_of  # noqa: E402
from eureka.sandbox import SandboxResult, make_sandbox  # noqa: E402
from eureka.task import load_task  # noqa: E402
from eureka.training.runner import CandidateCode, TrainingRunner  # noqa: E402

HUMAN = ROOT / "tasks" / "rewards" / "numpy" / "cartpole_human.py"


class Recorder:
    """Wraps an executor; keeps every job's result (sandbox wall time, placement)."""

    def __init__(self, executor: Executor) -> None:
        self.executor, self.name = executor, executor.name
        self.population_shards = executor.population_shards
        self.results: list[SandboxResult] = []

    def run(self, job):
        result = self.executor.run(job)
        self.results.append(result)
        return result


def candidates(count: int) -> list[CandidateCode]:
    code = HUMAN.read_text()
    out = []
    for k in range(count):
        upright, centred = 0.25 + 0.05 * k, 0.1 + 0.02 * (k % 5)
        variant = code.replace("0.5 * upright", f"{upright:.2f} * upright").replace("0.2 * centred",
                                                                                     f"{centred:.2f} * centred")
        out.append(CandidateCode(f"c{k}", variant))
    return out


def generation(executor: Executor, task, count: int, slots: int) -> dict:
    recorder = Recorder(executor)
    runner = TrainingRunner(recorder, task, workers=slots)
    start = time.monotonic()
    outcomes = runner.train(candidates(count))
    wall = time.monotonic() - start
    jobs = [placement_of(r) for r in recorder.results]
    return {"wall_s": wall, "fitness": [o.fitness for o in outcomes],
            "job_s": [r.wall_s for r in recorder.results],
            "node_extra_s": [j.ran_s - r.wall_s for j, r in zip(jobs, recorder.results) if j and j.executor == "ray"],
            "queued_s": [j.queued_s for j in jobs if j], "nodes": sorted({j.node for j in jobs if j})}


def simulated_wall(durations: list[float], nodes: int, overhead: float) -> float:
    """Makespan of FIFO list scheduling of the jobs onto `nodes` single-job nodes (a MODEL)."""
    free = [0.0] * nodes
    for duration in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration + overhead)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--slots", type=int, default=2, help="jobs at once (local workers = the Ray node's CPUs)")
    parser.add_argument("--timesteps", type=int, default=2048)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--local-wall", type=float, help="reuse a local generation's measured wall time (s) "
                        "instead of running it again (the model then uses the Ray jobs' durations)")
    args = parser.parse_args()

    from tests.executor.conftest import start_cluster

    task = load_task(ROOT / "tests/data/tasks/cartpole_gymnasium.yaml")
    training = task.training.model_copy(update={"timesteps": args.timesteps, "seeds": [0]})
    fitness = task.fitness.model_copy(update={"eval_episodes": 2})
    task = task.model_copy(update={"training": training, "fitness": fitness})

    if args.local_wall:
        local = {"wall_s": args.local_wall, "fitness": None, "job_s": []}
    else:
        local = generation(LocalExecutor(make_sandbox(args.sandbox)), task, args.candidates, args.slots)
    print(f"local: {local['wall_s']:.1f} s for {args.candidates} jobs, {args.slots} at once", flush=True)
    cluster = start_cluster(worker_cpus=args.slots)
    try:
        executor = make_executor(ExecutorSpec(kind="ray", address=cluster.address), args.sandbox)
        remote = generation(executor, task, args.candidates, args.slots)
    finally:
        cluster.stop()
    print(f"ray:   {remote['wall_s']:.1f} s on nodes {remote['nodes']}", flush=True)

    extra = remote["wall_s"] - local["wall_s"]
    per_job = extra * args.slots / args.candidates
    node_extra = statistics.mean(remote["node_extra_s"]) if remote["node_extra_s"] else 0.0
    durations = local["job_s"] or remote["job_s"]
    model = {n: simulated_wall(durations, n, max(per_job, 0.0)) for n in (4, 16)}
    report = {
        "candidates": args.candidates, "slots": args.slots, "timesteps": args.timesteps,
        "local_wall_s": round(local["wall_s"], 1), "ray_wall_s": round(remote["wall_s"], 1),
        "ray_overhead_per_job_s": round(per_job, 2),
        "ray_overhead_share": round(extra / remote["wall_s"], 3),
        "ray_node_pack_unpack_per_job_s": round(node_extra, 3),
        "job_s_median": round(statistics.median(durations), 1), "job_s_max": round(max(durations), 1),
        "same_fitness": None if local["fitness"] is None else local["fitness"] == remote["fitness"],
        "model_wall_s_4_gpu_nodes": round(model[4], 1), "model_wall_s_16_gpu_nodes": round(model[16], 1),
    }
    print(f"\n{'':34}{'local':>10}{'ray':>10}")
    print(f"{'generation wall time (s)':34}{report['local_wall_s']:>10}{report['ray_wall_s']:>10}")
    print(f"Ray overhead per job: {per_job:.2f} s ({100 * report['ray_overhead_share']:.1f}% of the Ray "
          f"generation's wall time); packing/unpacking on the node {node_extra:.3f} s per job")
    print(f"jobs: median {report['job_s_median']} s, longest {report['job_s_max']} s; same fitness on both: "
          f"{report['same_fitness']}")
    print(f"MODEL (simulated from the recorded job durations + overhead): {model[4]:.1f} s on 4 GPU nodes, "
          f"{model[16]:.1f} s on 16")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
