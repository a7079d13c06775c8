"""One jax generation, the previous path against the clean one, side by side in one run.

previous: the code of a given commit (default: the one before the clean evaluator), where
          the population job imported every candidate's Python and scored its own policies;
clean:    this tree: the critic's probe serializes each reward (jax.export), the population
          job trains the serialized functions and hands over policies, and a separate
          evaluation job scores them (final and per-checkpoint fitness, rollouts, videos).

Each side runs in its own process with its own tree on PYTHONPATH, through the real
`TrainingRunner` and sandbox: first the critic on every candidate (timed apart: the clean
critic also serializes and scores in a second job), then the generation's training.

    python bench/clean_evaluation.py --k 8 --timesteps 50000 --sandbox bwrap
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS = "62a0e57"  # main before the clean evaluator

VARIANTS = [  # (alive, centring, upright, fall): CartPole rewards of the eureka interface
    (1.0, 0.0, 0.0, 0.0), (1.0, 0.1, 0.0, 0.0), (1.0, 0.0, 1.0, 0.0), (1.0, 0.1, 1.0, 0.0),
    (1.0, 0.0, 0.0, 10.0), (0.5, 0.2, 0.5, 5.0), (2.0, 0.0, 2.0, 1.0), (1.0, 0.5, 0.5, 0.0),
    (1.0, 0.05, 0.2, 2.0), (1.0, 0.2, 0.0, 5.0), (0.5, 0.0, 0.5, 0.0), (1.0, 0.3, 2.0, 0.0),
]

REWARD = """import jax.numpy as jnp

def compute_reward(obs, action, next_obs, terminated):
    ended = terminated.astype(jnp.float32)
    alive = {alive} * (1.0 - ended)
    centring = -{centring} * jnp.abs(next_obs[:, 0])
    upright = -{upright} * jnp.abs(next_obs[:, 2])
    fall = -{fall} * ended
    return alive + centring + upright + fall, {{"alive": alive, "centring": centring, "upright": upright, "fall": fall}}
"""

SIDE = r"""
import json, sys, tempfile, time
from pathlib import Path
from eureka.critic.checks import Critic
from eureka.envs import sample_transitions, space_info
from eureka.sandbox import make_sandbox
from eureka.task import task_from_dict
from eureka.training.runner import CandidateCode, TrainingRunner

config = json.loads(sys.argv[1])
task = task_from_dict(config["task"])
sandbox = make_sandbox(config["sandbox"])
critic = Critic(sandbox, space_info(task.env), sample_transitions(task.env, 256, seed=0), fitness=task.fitness)
start = time.monotonic()
verdicts = [critic.check_code(code) for code in config["codes"]]
critic_s = time.monotonic() - start
out = Path(tempfile.mkdtemp())
candidates = [CandidateCode(f"c{i}", code, out / f"c{i}") for i, code in enumerate(config["codes"])]
start = time.monotonic()
outcomes = TrainingRunner(sandbox, task, workers=1).train(candidates)
train_s = time.monotonic() - start
print(json.dumps({"critic_s": critic_s, "generation_s": train_s, "accepted": sum(v.accepted for v in verdicts),
                  "fitness": [o.fitness for o in outcomes],
                  "files": sorted(p.name for p in (out / "c0").iterdir()) if (out / "c0").exists() else []}))
"""


def previous_tree(commit: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="eureka-previous-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "eureka"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory)
    return directory


def run_side(tree: Path, config: dict) -> dict:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
    done = subprocess.run([sys.executable, "-c", SIDE, json.dumps(config)], env=env, capture_output=True, text=True,
                          cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=50_000)
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--previous", default=PREVIOUS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import yaml

    task = yaml.safe_load((ROOT / "tasks" / "cartpole.yaml").read_text())
    task["training"].update(timesteps=args.timesteps, seeds=[0])
    task["fitness"].pop("target", None)
    task.pop("baselines", None)
    codes = [REWARD.format(alive=a, centring=c, upright=u, fall=f) for a, c, u, f in VARIANTS[: args.k]]
    config = {"task": task, "codes": codes, "sandbox": args.sandbox}
    results = {"previous": run_side(previous_tree(args.previous), config), "clean": run_side(ROOT, config)}
    ratio = results["clean"]["generation_s"] / results["previous"]["generation_s"]
    critic_ratio = results["clean"]["critic_s"] / results["previous"]["critic_s"]
    for name, row in results.items():
        print(f"{name:9s} critic {row['critic_s']:6.1f} s  generation {row['generation_s']:6.1f} s  "
              f"mean fitness {sum(f or 0 for f in row['fitness']) / len(row['fitness']):6.1f}  files {row['files']}")
    print(f"clean / previous wall time: generation {ratio:.2f}x, critic {critic_ratio:.2f}x "
          f"(K={args.k}, {args.timesteps} steps, 1 seed, sandbox {args.sandbox})")
    if args.json:
        args.json.write_text(json.dumps({**results, "generation_ratio": ratio, "critic_ratio": critic_ratio}, indent=2))


if __name__ == "__main__":
    main()
