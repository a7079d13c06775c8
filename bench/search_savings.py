"""What the smarter search saves, measured on real runs of `eureka run`.

1. Filters: scripted replies with an exact duplicate (renamed), a rescaled-and-shaped copy and
   a reward that ranks episodes wrongly: trainings each filter saved (run.json "filters").
2. Constant tuning: a scripted reward with badly scaled weights on the jax backend, fitness
   as written vs the winning variant (metrics.json "constant_tuning").
3. Overlap: the embedded model designs 3 candidates for the gymnasium CartPole task, with
   training overlapping design (default) and without (--no-overlap): wall times side by side.
   Prefix reuse is llama.cpp's prompt cache: see bench/local_llm_speed.py for its saving.

    python bench/search_savings.py [--skip-overlap]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GYM_TASK = ROOT / "tests/data/tasks/cartpole_gymnasium.yaml"


def task_copy(source: Path, directory: Path, **training) -> Path:
    data = yaml.safe_load(source.read_text())
    data["training"].update(training)
    data["fitness"].pop("target", None)
    data.pop("baselines", None)
    path = directory / f"{source.stem}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(task: Path, runs: Path, *args: str) -> tuple[float, dict, Path]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "eureka", "run", str(task), "--runs-dir", str(runs), *args],
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"eureka run failed:\n{done.stderr[-2000:]}")
    run_dir = max(runs.glob("*-*-*"), key=lambda p: p.stat().st_mtime)
    return wall, json.loads((run_dir / "run.json").read_text()), run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-overlap", action="store_true", help="skip the embedded-model overlap runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        wall, data, _ = run(task_copy(GYM_TASK, tmp_path, timesteps=10000), tmp_path / "filters",
                            "--model", f"scripted:{ROOT / 'tests/data/scripted/cartpole_filters'}",
                            "--iterations", "1", "--samples", "4")
        trained = sum(1 for _ in (tmp_path / "filters").glob("*/iter_0/cand_*/metrics.json"))
        print("1. filters: 5 scripted replies for 4 candidates")
        print(f"   trainings saved by filter: {data['filters']}; trained: {trained} (wall {wall:.1f} s)")

        jax_task = task_copy(ROOT / "tasks/cartpole.yaml", tmp_path, timesteps=50000, seeds=[0, 1])
        wall, data, run_dir = run(jax_task, tmp_path / "tuning", "--model",
                                  f"scripted:{ROOT / 'tests/data/scripted/cartpole_tuning'}",
                                  "--iterations", "1", "--samples", "1", "--tune", "6")
        tuning = json.loads((run_dir / "iter_0/cand_0/metrics.json").read_text())["constant_tuning"]
        base = tuning["variants"][0]["fitness"]
        best = max(v["fitness"] for v in tuning["variants"] if v["fitness"] is not None)
        print("2. constant tuning (jax CartPole, 50k steps x 2 seeds, 6 variants in the same program)")
        for v in tuning["variants"]:
            print(f"   {v['label']:<40} fitness {v['fitness']:.1f}")
        print(f"   as written {base:.1f} -> tuned {best:.1f} (winner: {tuning['winner']}; wall {wall:.1f} s)")

        if not args.skip_overlap:
            gym = task_copy(GYM_TASK, tmp_path, timesteps=30000)
            walls = {}
            for flag in ("--overlap", "--no-overlap"):
                walls[flag], _, _ = run(gym, tmp_path / flag.strip("-"), "--model", "local", "--iterations", "1",
                                        "--samples", "3", "--tune", "0", flag)
            print("3. overlap (embedded model designs 3 gymnasium CartPole candidates, SB3 30k steps each)")
            print(f"   wall with overlap {walls['--overlap']:.1f} s, without {walls['--no-overlap']:.1f} s, "
                  f"ratio {walls['--no-overlap'] / walls['--overlap']:.2f}x")


if __name__ == "__main__":
    main()
