"""`eureka bench`: the field's measurement on a task suite.

Per task: the search (`eureka run`), then the best reward it found, the task's human reward and
its sparse reward each trained on N fresh seeds (not the seeds the search selected on), in the
sandbox like any candidate. The human-normalized score is

    (F(best) - F(sparse)) / |F(human) - F(sparse)|

(signs flipped for a fitness to minimise): 1 matches the human reward, 0 the sparse one. Its
spread is over the fresh seeds of the best reward (each seed's fitness against the mean
baselines). The summary is the field's: the share of tasks scoring >= 1, and the mean score.

Everything lands in the bench directory: ``<task>/runs/`` (the search's run directory),
``<task>/result.json`` once a task is done, ``bench.json`` and ``<task>.png``. A killed bench
continues where it stopped: a finished task is read back, an unfinished search is resumed.
"""

from __future__ import annotations

import statistics
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eureka.rundir.store import atomic_write_json, read_json
from eureka.task import TaskSpec, load_task
from eureka.training.base import TrainOutcome

TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"
SUITES_FILE = "suites.toml"
FRESH_SEED_OFFSET = 1000  # fresh seeds start this far above the search's largest seed
REWARDS = ("best", "human", "sparse")
BudgetName = Literal["small", "paper"]
# small: the task file's own search budget; paper: Eureka's (5 generations of 16 samples).
PAPER_SEARCH = (5, 16)


class BenchError(ValueError):
    """Bad bench input (unknown task or suite). The message is for the user."""


@dataclass(frozen=True)
class BenchOptions:
    model: str | None = None
    seeds: int = 3
    budget: BudgetName = "small"
    out: Path = Path("runs/bench")
    sandbox: str | None = None
    workers: int | None = None
    trackers: list[str] | None = None  # --log of the searches (None: none, or a resumed search's own)


class Curve(BaseModel):
    steps: list[int]
    fitness: list[float | None]  # mean over seeds at each checkpoint


class RewardResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fitness_per_seed: list[float | None]
    mean: float | None
    std: float | None
    curve: Curve
    env_steps: int
    errors: list[str] = Field(default_factory=list)


class SearchUsage(BaseModel):
    tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    env_steps: int = 0
    best_candidate: str | None = None
    best_search_fitness: float | None = None
    run_dir: str | None = None


class TaskResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    backend: str
    metric: str
    direction: str
    seeds: list[int]
    search: SearchUsage
    rewards: dict[str, RewardResult]
    score: float | None
    score_spread: float | None
    score_per_seed: list[float | None]
    wall_s: float


class Summary(BaseModel):
    tasks: int
    scored: int
    share_at_least_human: float | None
    mean_score: float | None
    median_score: float | None = None  # a task with a small |F(human) - F(sparse)| can swing the mean


class BenchResult(BaseModel):
    model: str | None
    budget: str
    seeds: int
    tasks: list[TaskResult]
    summary: Summary


def resolve_tasks(names: list[str], suite: str | None, tasks_dir: Path = TASKS_DIR) -> list[Path]:
    """Task files from paths, names of files in `tasks_dir`, and a suite of `tasks_dir/suites.toml`."""
    wanted = list(names)
    if suite:
        suites = tomllib.loads((tasks_dir / SUITES_FILE).read_text()) if (tasks_dir / SUITES_FILE).is_file() else {}
        if suite not in suites:
            raise BenchError(f"--tasks {suite}: no such suite in {tasks_dir / SUITES_FILE} "
                             f"(known: {', '.join(sorted(suites)) or 'none'})")
        wanted += list(suites[suite])
    if not wanted:
        raise BenchError("name tasks (files or names in tasks/) or a suite with --tasks")
    paths = []
    for name in wanted:
        path = Path(name)
        if not path.is_file():
            path = tasks_dir / f"{name}.yaml"
        if not path.is_file():
            raise BenchError(f"{name}: not a task file, nor a task in {tasks_dir}")
        paths.append(path)
    return paths


def fresh_seeds(task: TaskSpec, count: int) -> list[int]:
    start = max(task.training.seeds) + FRESH_SEED_OFFSET
    return list(range(start, start + count))


def normalized_scores(best: list[float | None], human: list[float | None], sparse: list[float | None],
                      direction: str = "maximize") -> tuple[float | None, float | None, list[float | None]]:
    """(score of the means, spread over the best reward's seeds, per-seed scores)."""
    b, h, s = ([v for v in values if v is not None] for values in (best, human, sparse))
    if not (b and h and s):
        return None, None, [None] * len(best)
    sign = 1.0 if direction == "maximize" else -1.0
    scale = abs(statistics.fmean(h) - statistics.fmean(s))
    if scale == 0:
        return None, None, [None] * len(best)
    sparse_mean = statistics.fmean(s)
    per_seed = [None if v is None else sign * (v - sparse_mean) / scale for v in best]
    values = [v for v in per_seed if v is not None]
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return sign * (statistics.fmean(b) - sparse_mean) / scale, spread, per_seed


def summarize(results: list[TaskResult]) -> Summary:
    scores = [r.score for r in results if r.score is not None]
    return Summary(tasks=len(results), scored=len(scores),
                   share_at_least_human=(sum(s >= 1.0 for s in scores) / len(scores)) if scores else None,
                   mean_score=statistics.fmean(scores) if scores else None,
                   median_score=statistics.median(scores) if scores else None)


def reward_result(outcome: TrainOutcome) -> RewardResult:
    values = [m.fitness if m.status == "ok" else None for m in outcome.members]
    ok = [v for v in values if v is not None]
    length = max((len(m.checkpoints) for m in outcome.members), default=0)
    steps, curve = [], []
    for index in range(length):
        points = [m.checkpoints[index] for m in outcome.members if len(m.checkpoints) > index]
        steps.append(int(statistics.fmean(p.step for p in points)))
        found = [p.fitness for p in points if p.fitness is not None]
        curve.append(statistics.fmean(found) if found else None)
    return RewardResult(fitness_per_seed=values, mean=statistics.fmean(ok) if ok else None,
                        std=statistics.stdev(ok) if len(ok) > 1 else (0.0 if ok else None),
                        curve=Curve(steps=steps, fitness=curve),
                        env_steps=sum(m.env_steps for m in outcome.members),
                        errors=[m.error for m in outcome.members if m.error])


class Bench:
    """Runs the bench over task files, one task at a time, resumable."""

    def __init__(self, options: BenchOptions, log=print) -> None:
        self.options = options
        self.log = log

    def run(self, task_paths: list[Path]) -> BenchResult:
        self.options.out.mkdir(parents=True, exist_ok=True)
        results = [self.task(load_task(path)) for path in task_paths]
        bench = BenchResult(model=self.options.model, budget=self.options.budget, seeds=self.options.seeds,
                            tasks=results, summary=summarize(results))
        atomic_write_json(self.options.out / "bench.json", bench.model_dump(mode="json"))
        from eureka.views.bench import markdown_table, write_plots

        write_plots(bench, self.options.out)
        (self.options.out / "bench.md").write_text(markdown_table(bench))
        return bench

    def task(self, task: TaskSpec) -> TaskResult:
        folder = self.options.out / task.name
        done = folder / "result.json"
        if done.is_file():
            self.log(f"{task.name}: done before, read back from {done}")
            return TaskResult.model_validate(read_json(done))
        search = self.search(task, folder / "runs")
        started = time.monotonic()
        seeds = fresh_seeds(task, self.options.seeds)
        self.log(f"{task.name}: training best, human and sparse rewards on seeds {seeds}")
        outcomes = self.final_training(task, Path(search.run_dir) if search.run_dir else None, seeds)
        rewards = {name: reward_result(outcome) for name, outcome in outcomes.items()}
        per = {name: rewards[name].fitness_per_seed if name in rewards else [] for name in REWARDS}
        score, spread, per_seed = normalized_scores(per["best"], per["human"], per["sparse"], task.fitness.direction)
        result = TaskResult(task=task.name, backend=task.env.backend, metric=task.fitness.metric,
                            direction=task.fitness.direction, seeds=seeds, search=search, rewards=rewards,
                            score=score, score_spread=spread, score_per_seed=per_seed,
                            wall_s=round(time.monotonic() - started + self._search_seconds(folder), 1))
        atomic_write_json(done, result.model_dump(mode="json"))
        return result

    def search(self, task: TaskSpec, runs: Path) -> SearchUsage:
        """The task's search: resumed if a run of it was left unfinished, else started."""
        from eureka.app import resume_run, run_status, start_run
        from eureka.config import RunConfig

        started = time.monotonic()
        existing = sorted(p for p in runs.glob("*") if (p / "run.json").is_file()) if runs.is_dir() else []
        if existing and run_status(existing[-1]) == "finished":
            self.log(f"{task.name}: search finished before ({existing[-1]})")
        elif existing:
            self.log(f"{task.name}: resuming the search in {existing[-1]}")
            resume_run(existing[-1], sandbox=self.options.sandbox, log=self.options.trackers)
        else:
            iterations, samples = PAPER_SEARCH if self.options.budget == "paper" else (None, None)
            self.log(f"{task.name}: searching")
            config = RunConfig.resolve(task, model=self.options.model, iterations=iterations, samples=samples,
                                       sandbox=self.options.sandbox, workers=self.options.workers,
                                       log=self.options.trackers)
            start_run(task, config, runs)
        run_dir = sorted(p for p in runs.glob("*") if (p / "run.json").is_file())[-1]
        timing = runs.parent / "search_seconds.json"
        if not timing.is_file():
            atomic_write_json(timing, {"seconds": time.monotonic() - started})
        return search_usage(run_dir)

    def final_training(self, task: TaskSpec, run_dir: Path | None, seeds: list[int]) -> dict[str, TrainOutcome]:
        from eureka.app import task_sandbox
        from eureka.training.runner import CandidateCode, TrainingRunner

        final = task.model_copy(deep=True)
        final._path = task.path
        final.training.seeds = seeds
        final.fitness.target = None  # no early stop: every reward trains the whole budget
        rounds = max(1, -(-len(seeds) // len(task.training.seeds)))  # more seeds than the search trained
        final.training.timeout_s = task.training.timeout_s * len(REWARDS) * rounds
        codes = []
        best = run_dir / "best" / "reward.py" if run_dir else None
        if best is not None and best.is_file():
            codes.append(CandidateCode("best", best.read_text()))
        for name in ("human", "sparse"):
            path = getattr(task.baselines, name)
            if path is not None:
                codes.append(CandidateCode(name, task.resolve(path).read_text()))
        runner = TrainingRunner(task_sandbox(task, self.options.sandbox or task.sandbox), final,
                                workers=self.options.workers)
        return {outcome.candidate_id: outcome for outcome in runner.train(codes)}

    @staticmethod
    def _search_seconds(folder: Path) -> float:
        timing = folder / "search_seconds.json"
        return float(read_json(timing)["seconds"]) if timing.is_file() else 0.0


def search_usage(run_dir: Path) -> SearchUsage:
    """LLM usage, env steps and the best candidate of a finished run, from its files."""
    run = read_json(run_dir / "run.json")
    usage = run.get("usage") or {}
    steps = 0
    for metrics in run_dir.glob("**/metrics.json"):
        outcome = read_json(metrics).get("outcome") or {}
        steps += sum(int(m.get("env_steps", 0)) for m in outcome.get("members", []))
    best = run.get("best") or {}
    return SearchUsage(tokens=int(usage.get("tokens", 0)), cost_usd=float(usage.get("cost_usd", 0.0)),
                       calls=int(usage.get("calls", 0)), env_steps=steps, best_candidate=best.get("candidate"),
                       best_search_fitness=best.get("fitness"), run_dir=str(run_dir))
