"""What the smarter search saves, measured on real runs of `eureka run`.

1. Filters: scripted replies with an exact duplicate (renamed), a rescaled-and-shaped copy and
   a reward that ranks episodes wrongly: trainings each filter saved (run.json "filters").
2. Constant tuning: a scripted reward with badly scaled weights on the jax backend, fitness
   as written vs the winning variant (metrics.json "constant_tuning").
3. Overlap: the embedded model designs 3 candidates for the gymnasium CartPole task, with
   training overlapping design (default) and without (--no-overlap): wall times side by side.
   On 2 cores the model and the trainers compete for the CPU.
4. Overlap with an API-like model: a local OpenAI-compatible server (tests/design/llm/openai_server.py)
   answers scripted rewards after a fixed latency, through the real litellm client, so the
   LLM's time is waiting, the case overlap is for. Both backends, --overlap vs --no-overlap.
5. Prompt prefix reuse (llama.cpp keeps the last prompt's evaluated tokens): a generation's K
   samples of one prompt with the embedded model, reusing the prefix vs reading the whole
   prompt again for every sample (LocalClient(reuse_prefix=False)).

    python bench/search_savings.py [--skip-overlap] [--skip-api] [--skip-prefix] [--latency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's eureka (and tests/design/llm server), not an installed one
GYM_TASK = ROOT / "tests/data/tasks/cartpole_gymnasium.yaml"


def task_copy(source: Path, directory: Path, **training) -> Path:
    data = yaml.safe_load(source.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    data["training"].update(training)
    data["fitness"].pop("target", None)
    data.pop("baselines", None)
    path = directory / f"{source.stem}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(task: Path, runs: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, dict, Path]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "eureka", "run", str(task), "--runs-dir", str(runs), *args],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"eureka run failed:\n{done.stderr[-2000:]}")
    run_dir = max(runs.glob("*-*-*"), key=lambda p: p.stat().st_mtime)
    return wall, json.loads((run_dir / "run.json").read_text()), run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-overlap", action="store_true", help="skip the embedded-model overlap runs")
    parser.add_argument("--skip-api", action="store_true", help="skip the API-like overlap runs")
    parser.add_argument("--skip-prefix", action="store_true", help="skip the embedded-model prefix-reuse row")
    parser.add_argument("--latency", type=float, default=4.0, help="seconds the API-like server takes per reply")
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

        if not args.skip_api:
            api_overlap(tmp_path, args.latency)
        if not args.skip_prefix:
            prefix_reuse()


API_REPLIES = {  # 4 distinct rewards that pass the critic, per backend
    "gymnasium": [f"tests/data/scripted/cartpole_numpy/{n}" for n in (
        "02_repair_of_syntax_error.md", "04_repair_of_nan.md", "07_reflection_improved.md", "09_reflection_variant.md")],
    "jax": [f"tests/data/scripted/cartpole/{n}" for n in (
        "02_repair_of_syntax_error.md", "04_repair_of_nan.md", "07_reflection_improved.md", "09_reflection_variant.md")],
}


def api_overlap(tmp_path: Path, latency_s: float) -> None:
    from tests.design.llm.openai_server import OpenAIServer

    tasks = {"gymnasium": task_copy(GYM_TASK, tmp_path / "api-gym", timesteps=20000),
             "jax": task_copy(ROOT / "tasks/cartpole.yaml", tmp_path / "api-jax", timesteps=50000, seeds=[0, 1])}
    print(f"4. overlap with an API-like model (litellm -> local server, {latency_s:g} s per reply; "
          "4 candidates, 1 generation, no constant tuning)")
    for backend, task in tasks.items():
        replies = [(ROOT / name).read_text() for name in API_REPLIES[backend]]
        walls, fitness = {}, {}
        for flag in ("--overlap", "--no-overlap"):
            with OpenAIServer(list(replies), latency_s=latency_s) as server:
                env = {"EUREKA_API_BASE": server.base_url, "OPENAI_API_KEY": "sk-bench"}
                walls[flag], data, run_dir = run(task, tmp_path / f"api-{backend}{flag}", "--model", "openai/bench",
                                                 "--no-review", "--mode", "code", "--iterations", "1",
                                                 "--samples", "4", "--tune", "0", flag, env=env)
            fitness[flag] = sorted(json.loads(p.read_text())["fitness"] for p in run_dir.glob("iter_0/cand_*/metrics.json"))
        same = "same" if fitness["--overlap"] == fitness["--no-overlap"] else "DIFFERENT"
        print(f"   {backend:<9} with overlap {walls['--overlap']:.1f} s, without {walls['--no-overlap']:.1f} s, "
              f"ratio {walls['--no-overlap'] / walls['--overlap']:.2f}x; fitness {same}: {fitness['--overlap']}")


def prefix_reuse(samples: int = 4, max_tokens: int = 64) -> None:
    from eureka.envs import space_info
    from eureka.design.llm.base import GenerationSettings
    from eureka.design.llm.local import LocalClient, load_model, resolve_model_path
    from eureka.design.prompts import PromptBuilder
    from eureka.task import load_task

    try:
        path = resolve_model_path("")
    except Exception as exc:  # not installed: say so, the other rows stand
        print(f"5. prefix reuse: skipped, no embedded model ({exc})")
        return
    task = load_task(GYM_TASK)
    messages = PromptBuilder(task, space_info(task.env)).initial_messages()
    settings = GenerationSettings(temperature=0.8, max_tokens=max_tokens)
    rows = {}
    for reuse in (True, False):  # with reuse first: the freshly loaded model holds no prompt yet
        client = LocalClient(path, seed=0, reuse_prefix=reuse)
        loaded = load_model(path, client.n_ctx, client.n_threads, client.n_threads_batch)
        loaded.llama.reset()
        start = time.monotonic()
        completions = [client.complete(messages, settings) for _ in range(samples)]
        rows[reuse] = (time.monotonic() - start, [c.latency_s for c in completions])
    prompt_tokens = completions[0].prompt_tokens
    print(f"5. prompt prefix reuse (embedded model, {samples} samples of one {prompt_tokens}-token design prompt, "
          f"at most {max_tokens} tokens each)")
    for reuse, label in ((True, "reusing the prefix"), (False, "reading the prompt each time")):
        wall, latencies = rows[reuse]
        print(f"   {label:<29} {wall:.1f} s (per sample: {', '.join(f'{x:.1f}' for x in latencies)})")
    print(f"   ratio {rows[False][0] / rows[True][0]:.2f}x")


if __name__ == "__main__":
    main()
