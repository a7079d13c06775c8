"""The Python API, for notebooks and scripts: run a task, read a run, load a reward.

Example::

    import eureka

    result = eureka.run("cartpole", model="openai/gpt-4o", iterations=2, samples=4)
    print(result.best_fitness, result.run_dir)
    for row in result.fitness_table:
        print(row.iteration, row.best_candidate, row.best_fitness)
    reward = eureka.load_reward(result.run_dir)      # the best reward's compute_reward
    total, components = reward(obs, action, next_obs, terminated)   # batched arrays
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eureka.reward import RewardFn


@dataclass(frozen=True)
class FitnessRow:
    """One generation: how many candidates, how many passed the critic, and its best."""

    iteration: int
    candidates: int
    accepted: int
    best_candidate: str | None
    best_fitness: float | None


@dataclass(frozen=True)
class RunResult:
    """A run as its directory records it."""

    run_dir: Path
    run_id: str
    task: str
    status: str
    best_candidate: str | None
    best_fitness: float | None
    fitness_table: list[FitnessRow]
    baselines: dict[str, float | None]

    @property
    def best_reward_path(self) -> Path | None:
        path = self.run_dir / "best" / "reward.py"
        return path if self.best_candidate is not None and path.is_file() else None

    @property
    def best_reward(self) -> str | None:
        """The best reward's source code."""
        path = self.best_reward_path
        return path.read_text() if path is not None else None

    def reward(self) -> RewardFn:
        """The best reward as a callable (see `load_reward`)."""
        return load_reward(self.run_dir)


def run(task: Any, model: str | None = None, *, timesteps: int | None = None, verbose: bool = False,
        **overrides: Any) -> RunResult:
    """Design rewards for `task` (a task file, a shipped task's name, or a loaded TaskSpec) and return
    the finished run. `overrides` are the run's settings as the command line names them:
    iterations, samples, sandbox, runs_dir, with_baselines, islands, seed, mode, ... (RunConfig.resolve).
    `timesteps` replaces the task's training steps per policy; `verbose` prints the run's progress as
    `eureka run` does.

    Raises eureka.task.TaskError for a bad task, eureka.envs.user.EnvCodeError when the env cannot be
    built in the sandbox, eureka.sandbox.SandboxError when no sandbox runs here.
    """
    from eureka.app import start_run
    from eureka.config import RunConfig
    from eureka.resources import task_path
    from eureka.task import TaskSpec, load_task

    known = (set(inspect.signature(RunConfig.resolve).parameters) - {"task", "model"}) | {"runs_dir"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown run setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    runs_dir = Path(overrides.pop("runs_dir", "runs"))
    spec = task if isinstance(task, TaskSpec) else load_task(task_path(task))
    if timesteps:
        spec = spec.model_copy(update={"training": spec.training.model_copy(update={"timesteps": timesteps})})
    listener = None
    if verbose:
        from eureka.views.console import RunConsole

        listener = RunConsole()
    result = start_run(spec, RunConfig.resolve(spec, model=model, **overrides), runs_dir, listener=listener)
    return load_run(result.store.directory)


def load_run(path: str | Path) -> RunResult:
    """A run directory (runs/<run id>) read back: its best, its fitness per generation, its baselines."""
    from eureka.rundir.reader import read_run_file

    directory = Path(path)
    data = read_run_file(directory)
    best = data.get("best") or {}
    rows = [FitnessRow(int(row.get("iteration", index)), int(row.get("candidates", 0)), int(row.get("accepted", 0)),
                       row.get("best_candidate"), row.get("best_fitness"))
            for index, row in enumerate(data.get("iterations") or [])]
    return RunResult(run_dir=directory, run_id=str(data.get("run_id", directory.name)),
                     task=str((data.get("task") or {}).get("name", "")), status=str(data.get("status")),
                     best_candidate=best.get("candidate"), best_fitness=best.get("fitness"),
                     fitness_table=rows, baselines=dict(data.get("baselines") or {}))


def load_reward(path: str | Path) -> RewardFn:
    """`compute_reward(obs, action, next_obs, terminated) -> (total, components)` over batched arrays,
    from a reward file, a candidate's directory, an export directory, or a run directory (its best)."""
    from eureka.reward import load_reward as load_file

    location = Path(path)
    if location.is_dir():
        for candidate in (location / "best" / "reward.py", location / "reward.py"):
            if candidate.is_file():
                return load_file(candidate)
        raise FileNotFoundError(f"{location}: no best/reward.py or reward.py")
    return load_file(location)
