"""Kill `eureka run` with SIGKILL at random moments, `eureka resume` it, check nothing is lost.

For each trial: start a scripted run, SIGKILL its process group after a random delay,
resume it, and check that the run finished, that every candidate trained before the kill
kept its metrics unchanged (not re-trained), and that no LLM reply was asked for twice.

    python bench/kill_resume.py --trials 20 [--task tasks/cartpole.yaml --scripted tests/data/scripted/cartpole]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def eureka(*args: str) -> list[str]:
    return [sys.executable, "-m", "eureka", *args]


def small_task(source: Path, directory: Path, timesteps: int) -> Path:
    data = yaml.safe_load(source.read_text())
    data["training"]["timesteps"] = timesteps
    data["fitness"].pop("target", None)
    data.pop("baselines", None)
    path = directory / source.name
    path.write_text(yaml.safe_dump(data))
    return path


def trial(task: Path, scripted: Path, sandbox: str, max_delay: float, rng: random.Random) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        delay = rng.uniform(0.5, max_delay)
        proc = subprocess.Popen(eureka("run", str(small_task(task, Path(tmp), args.timesteps)), "--model",
                                       f"scripted:{scripted}", "--iterations", "2", "--samples", "3",
                                       "--sandbox", sandbox, "--runs-dir", str(runs)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        finished_first = proc.poll() is not None
        if not finished_first:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        run_dirs = [p for p in runs.glob("*") if p.is_dir()] if runs.is_dir() else []
        if not run_dirs:
            return {"delay": delay, "outcome": "killed before the run directory existed", "ok": True}
        run_dir = run_dirs[0]
        before = {str(p.relative_to(run_dir)): p.read_text() for p in run_dir.glob("iter_*/cand_*/metrics.json")}
        calls_before = len(list((run_dir / "llm").glob("*.json")))
        t0 = time.monotonic()
        resumed = subprocess.run(eureka("resume", str(run_dir)), capture_output=True, text=True, timeout=900)
        run = json.loads((run_dir / "run.json").read_text())
        after = {str(p.relative_to(run_dir)): p.read_text() for p in run_dir.glob("iter_*/cand_*/metrics.json")}
        kept = all(after.get(name) == text for name, text in before.items())
        calls = len(list((run_dir / "llm").glob("*.json")))
        ok = resumed.returncode == 0 and run["status"] == "finished" and kept and calls >= calls_before
        return {"delay": round(delay, 2), "trained_before_kill": len(before), "trained_after": len(after),
                "llm_calls_before": calls_before, "llm_calls_after": calls, "finished_before_kill": finished_first,
                "resume_s": round(time.monotonic() - t0, 1), "ok": ok,
                "error": None if ok else resumed.stderr[-500:]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--task", type=Path, default=ROOT / "tests/data/tasks/cartpole_gymnasium.yaml")
    parser.add_argument("--scripted", type=Path, default=ROOT / "tests/data/scripted/cartpole_numpy")
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--timesteps", type=int, default=6000)
    parser.add_argument("--max-delay", type=float, default=30.0, help="seconds; kill points are uniform in [0.5, this]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = []
    for number in range(1, args.trials + 1):
        result = trial(args.task, args.scripted, args.sandbox, args.max_delay, rng)
        results.append(result)
        print(f"trial {number:2d}: kill at {result['delay']:5.2f} s  "
              f"trained before/after {result.get('trained_before_kill', 0)}/{result.get('trained_after', 0)}  "
              f"llm calls {result.get('llm_calls_before', 0)}->{result.get('llm_calls_after', 0)}  "
              f"{'ok' if result['ok'] else 'FAILED: ' + str(result.get('error'))}", flush=True)
    passed = sum(r["ok"] for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)
