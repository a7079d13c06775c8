"""What the offline loop earns, part by part: `eureka run` on the embedded model, no key, no
network, on the shipped tasks, several LLM sampling seeds each, under four configurations:

    full          the default: structured spec + structural edits of the parent + semantic
                  selection + constant tuning
    no-edits      --edits 0 (only the model's own children of the parent)
    no-tuning     --tune 0
    no-selection  --no-selection (no constant-reward, ranking or all-cost checks before training)
    free-form     --mode code (free-form reward code, with the critic's auto-repair)
    mixed         --code-share 0.25 (a quarter of the samples free-form code beside the specs)

Every run is the real command a user types (one subprocess each, `--seed` for the sampling
seed), and every figure comes from its run directory: samples (LLM replies, repairs included),
well-formed before and after auto-repair, samples that ran in the sandboxed probe, samples that
passed every check before training, the best candidate's ground-truth fitness and per-seed
fitness, and wall time. The sparse and human baseline rewards are trained once per task with the
task's own training settings, for comparison. `--held-out` tasks (default: Acrobot, a task
nothing in eureka was tuned on) run under the full configuration only.

    python bench/offline_ablation.py                              # everything, ~3 h on 2 cores
    python bench/offline_ablation.py --configs full --seeds 0 1 2  # the main benchmark only
    python bench/offline_ablation.py --report                     # tables from what has finished

Finished runs are kept in `--out` (runs/ and results.json); a second invocation skips them, so an
interrupted benchmark goes on where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eureka.app import task_sandbox  # noqa: E402
from eureka.task import TaskSpec, load_task  # noqa: E402
from eureka.training.runner import CandidateCode, TrainingRunner  # noqa: E402

DEFAULT_TASKS = ("tasks/cartpole.yaml", "tasks/pendulum.yaml", "tasks/mountain_car.yaml")
CONFIGS: dict[str, list[str]] = {
    "full": [],
    "no-edits": ["--edits", "0"],
    "no-tuning": ["--tune", "0"],
    "no-selection": ["--no-selection"],
    "free-form": ["--mode", "code"],
    "mixed": ["--code-share", "0.25"],
}
SEMANTIC_SPEC_PROBLEMS = ("the policy learns nothing", "failing as early as it can", "ever pays")
RUN_LIMIT_S = 20 * 60  # the ceiling for one offline run


@dataclass
class RunFigures:
    task: str
    config: str
    seed: int
    exit_code: int
    wall_s: float
    run_dir: str | None
    samples: int = 0  # the model's replies (repairs included); eureka's structural edits are counted apart
    well_formed_raw: int = 0  # as the model wrote it
    well_formed: int = 0  # after the critic's deterministic auto-repair
    ran: int = 0  # ran in the sandboxed probe
    selected: int = 0  # passed every check before training
    trained: int = 0
    best_fitness: float | None = None
    best_per_seed: list[float | None] = field(default_factory=list)
    reached_target: bool = False
    tokens: int = 0
    edits: int = 0  # eureka's structural edits of a parent spec
    edits_selected: int = 0  # of which passed every check before training
    best_is_edit: bool = False


def attempt_counts(attempt: dict[str, Any], spec_mode: bool) -> tuple[bool, bool, bool, bool]:
    """(well-formed as written, well-formed after auto-repair, ran in the probe, passed every check)."""
    stage = attempt.get("stage")
    fixes = attempt.get("fixes") or []
    if spec_mode:
        # A spec reply is decoded under the JSON schema; "extract" problems are either a malformed
        # spec or the semantic checks of eureka.design.spec (which the spec passed as a form).
        semantic = [p for p in attempt.get("problems") or [] if any(s in p for s in SEMANTIC_SPEC_PROBLEMS)]
        well_formed = stage != "extract" or len(semantic) == len(attempt.get("problems") or [])
        return well_formed, well_formed, stage in ("ranking", "passed"), bool(attempt.get("accepted"))
    after = stage not in ("extract", "static")
    raw = after and not fixes  # any auto-repair means the reply was not right as written
    ran = stage in ("ranking", "passed")
    return raw, after, ran, bool(attempt.get("accepted"))


def figures_of(run_dir: Path, figures: RunFigures) -> RunFigures:
    run = json.loads((run_dir / "run.json").read_text())
    spec_mode = run["settings"].get("mode") == "spec"
    for critic_file in sorted(run_dir.glob("iter_*/cand_*/critic.json")):
        critic = json.loads(critic_file.read_text())
        if critic.get("edit"):
            figures.edits += 1
            figures.edits_selected += bool(critic.get("accepted"))
            continue
        for attempt in critic.get("attempts", []):
            raw, after, ran, accepted = attempt_counts(attempt, spec_mode)
            figures.samples += 1
            figures.well_formed_raw += raw
            figures.well_formed += after
            figures.ran += ran
            figures.selected += accepted
    for candidate_file in run_dir.glob("iter_*/cand_*/candidate.json"):
        candidate = json.loads(candidate_file.read_text())
        figures.trained += candidate.get("fitness") is not None
    best = run.get("best") or {}
    figures.best_fitness = best.get("fitness")
    if best.get("directory"):
        candidate = json.loads((run_dir / best["directory"] / "candidate.json").read_text())
        figures.best_per_seed = candidate.get("fitness_per_seed", [])
        figures.best_is_edit = bool(candidate.get("edit"))
    task = run["task"]["fitness"]
    target, fitness = task.get("target"), figures.best_fitness
    if target is not None and fitness is not None:
        figures.reached_target = fitness >= target if task.get("direction", "maximize") == "maximize" \
            else fitness <= target
    usage = run.get("usage") or {}
    figures.tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
    return figures


def one_run(task_file: str, config: str, seed: int, out: Path, sandbox: str, model: str) -> RunFigures:
    runs_dir = out / "runs" / config / f"seed{seed}"
    runs_dir.mkdir(parents=True, exist_ok=True)
    before = set(runs_dir.iterdir())
    command = [sys.executable, "-c", "from eureka.cli import main; main()", "run", task_file,
               "--model", model, "--seed", str(seed), "--sandbox", sandbox, "--runs-dir", str(runs_dir),
               *CONFIGS[config]]
    start = time.monotonic()
    log_file = runs_dir / f"{Path(task_file).stem}.log"
    with log_file.open("w") as log:
        completed = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "COLUMNS": "120"}, timeout=RUN_LIMIT_S * 2)
    wall = time.monotonic() - start
    created = sorted(set(runs_dir.iterdir()) - before - {log_file})
    run_dir = next((p for p in created if (p / "run.json").is_file()), None)
    figures = RunFigures(Path(task_file).stem, config, seed, completed.returncode, round(wall, 1),
                         str(run_dir) if run_dir else None)
    return figures_of(run_dir, figures) if run_dir else figures


def baselines(task: TaskSpec, sandbox: str) -> dict[str, dict[str, Any]]:
    """The task's sparse and human rewards, trained with the task's settings (fitness per seed)."""
    candidates = [CandidateCode(f"baseline-{name}", task.resolve(getattr(task.baselines, name)).read_text())
                  for name in ("sparse", "human") if getattr(task.baselines, name) is not None]
    outcomes = TrainingRunner(task_sandbox(task, sandbox), task).train(candidates)
    return {o.candidate_id.removeprefix("baseline-"): {"fitness": o.fitness,
                                                       "per_seed": [m.fitness for m in o.members]}
            for o in outcomes}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _share(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{part}/{whole} ({100 * part / whole:.0f}%)"


def successes(figures: RunFigures, target: float | None) -> str:
    """Training seeds of the best candidate at or above the target (success-rate tasks)."""
    if target is None or not figures.best_per_seed:
        return ""
    hits = sum(1 for f in figures.best_per_seed if f is not None and f >= target)
    return f" ({hits}/{len(figures.best_per_seed)} seeds >= {target:g})"


def recount(figures: RunFigures) -> RunFigures:
    """The figures of a finished run, read again from its run directory (this script's counting)."""
    if figures.run_dir is None or not (Path(figures.run_dir) / "run.json").is_file():
        return figures
    fresh = RunFigures(figures.task, figures.config, figures.seed, figures.exit_code, figures.wall_s, figures.run_dir)
    return figures_of(Path(figures.run_dir), fresh)


def report(results: dict[str, Any], tasks: list[TaskSpec]) -> str:
    runs = [recount(RunFigures(**{k: v for k, v in r.items() if k in RunFigures.__dataclass_fields__}))
            for r in results.get("runs", [])]
    lines = ["## Runs", "",
             "| task | config | seed | samples | well-formed raw | after auto-repair | ran | selected | edits selected "
             "| trained | best fitness | target | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by_name = {t.name: t for t in tasks}
    for r in runs:
        task = by_name.get(r.task)
        target = task.fitness.target if task else None
        per_seed = successes(r, target) if task and task.fitness.metric == "success_rate" else ""
        lines.append(f"| {r.task} | {r.config} | {r.seed} | {r.samples} | {_share(r.well_formed_raw, r.samples)} "
                     f"| {_share(r.well_formed, r.samples)} | {_share(r.ran, r.samples)} "
                     f"| {_share(r.selected, r.samples)} | {_share(r.edits_selected, r.edits)} | {r.trained} "
                     f"| {_fmt(r.best_fitness, 4)}{per_seed}{' (an edit)' if r.best_is_edit else ''} "
                     f"| {'yes' if r.reached_target else 'no'} | {r.wall_s:.0f} |")
    lines += ["", "## Ablation (mean over seeds; targets met / runs)", "",
              "| task | sparse | human | " + " | ".join(CONFIGS) + " |",
              "|---|---|---|" + "---|" * len(CONFIGS)]
    for task in tasks:
        base = results.get("baselines", {}).get(task.name, {})
        cells = []
        for config in CONFIGS:
            mine = [r for r in runs if r.task == task.name and r.config == config]
            values = [r.best_fitness for r in mine if r.best_fitness is not None]
            if not mine:
                cells.append("not run")
                continue
            hit = sum(r.reached_target for r in mine)
            cells.append(f"{_fmt(mean(values), 4) if values else '-'} ({hit}/{len(mine)}; "
                         f"{mean(r.wall_s for r in mine):.0f} s)")
        lines.append(f"| {task.name} | {_fmt((base.get('sparse') or {}).get('fitness'), 4)} "
                     f"| {_fmt((base.get('human') or {}).get('fitness'), 4)} | " + " | ".join(cells) + " |")
    lines += ["", "## Sample quality per configuration (all tasks and seeds)", "",
              "| config | samples | well-formed raw | after auto-repair | ran | selected | edits selected "
              "| best is an edit |", "|---|---|---|---|---|---|---|---|"]
    for config in CONFIGS:
        mine = [r for r in runs if r.config == config]
        if mine:
            total = sum(r.samples for r in mine)
            lines.append(f"| {config} | {total} | {_share(sum(r.well_formed_raw for r in mine), total)} "
                         f"| {_share(sum(r.well_formed for r in mine), total)} "
                         f"| {_share(sum(r.ran for r in mine), total)} | {_share(sum(r.selected for r in mine), total)} "
                         f"| {_share(sum(r.edits_selected for r in mine), sum(r.edits for r in mine))} "
                         f"| {sum(r.best_is_edit for r in mine)}/{len(mine)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--held-out", nargs="*", default=["tasks/acrobot.yaml"],
                        help="tasks eureka was not tuned on, run under the full configuration only")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--model", default="local", help="the embedded model (default); scripted:DIR for a dry run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "offline_ablation")
    parser.add_argument("--report", action="store_true", help="only print the tables of finished runs")
    args = parser.parse_args()

    by_file = {t: load_task(ROOT / t) for t in args.tasks + args.held_out}
    tasks = list(by_file.values())
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.json"
    results: dict[str, Any] = json.loads(results_file.read_text()) if results_file.is_file() else {}
    results.setdefault("runs", [])
    results.setdefault("baselines", {})

    def save() -> None:
        results_file.write_text(json.dumps(results, indent=1))

    if not args.report:
        for task in tasks:
            if task.name not in results["baselines"]:
                start = time.monotonic()
                results["baselines"][task.name] = baselines(task, args.sandbox)
                print(f"baselines {task.name}: {results['baselines'][task.name]} "
                      f"({time.monotonic() - start:.0f} s)", flush=True)
                save()
        done = {(r["task"], r["config"], r["seed"]) for r in results["runs"]}
        # The main benchmark (full, every seed, held-out tasks too) first; then the ablations
        # seed by seed, so that a cut-short benchmark still has every configuration on some seeds.
        plan = [("full", seed, tf) for seed in args.seeds for tf in args.tasks + args.held_out] if "full" in args.configs else []
        plan += [(config, seed, tf) for seed in args.seeds for config in args.configs if config != "full"
                 for tf in args.tasks]
        for config, seed, task_file in plan:
            task = by_file[task_file]
            if (task.name, config, seed) in done:
                continue
            figures = one_run(task_file, config, seed, args.out, args.sandbox, args.model)
            results["runs"].append(asdict(figures))
            save()
            print(f"{task.name} {config} seed {seed}: exit {figures.exit_code}, best "
                  f"{_fmt(figures.best_fitness, 4)} {figures.best_per_seed}, {figures.samples} samples, "
                  f"{figures.wall_s:.0f} s", flush=True)
    print(report(results, tasks))


if __name__ == "__main__":
    main()
