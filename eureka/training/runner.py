"""Host side of training: hands candidates to sandboxed train jobs and collects outcomes.

Gymnasium tasks: one job per candidate, up to `workers` at once (one per core).
JAX tasks: one job for the whole generation (one compiled population program).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from eureka.executor import placement_of
from eureka.sandbox.base import JOB_FILE, Sandbox, SandboxJob, SandboxLimits
from eureka.task import TaskSpec
from eureka.training.base import (
    PROGRESS_FILE,
    MemberResult,
    TrainCandidate,
    TrainJobResult,
    TrainJobSpec,
    TrainOutcome,
)

ProgressFn = Callable[[str, int, int], None]  # (candidate id, step, total)


ARTIFACTS_DIR = "artifacts"  # the job writes artifacts/<candidate index>/... (policies, videos)
MAX_ARTIFACT_BYTES = 64 << 20


@dataclass(frozen=True)
class CandidateCode:
    id: str
    code: str
    artifacts: Path | None = None  # where the job's files for this candidate are copied


class TrainingRunner:
    def __init__(self, sandbox: Sandbox, task: TaskSpec, workers: int | None = None,
                 memory_mb: int = 4096) -> None:
        self.sandbox = sandbox
        self.task = task
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.limits = SandboxLimits(timeout_s=task.training.timeout_s, memory_mb=memory_mb,
                                    max_pids=512, cpus=1.0)

    def train(self, candidates: list[CandidateCode], progress: ProgressFn | None = None) -> list[TrainOutcome]:
        session = self.session(progress)
        for candidate in candidates:
            session.submit(candidate)
        return session.results()

    def session(self, progress: ProgressFn | None = None, overlap: bool = True) -> "TrainingSession":
        """Submit candidates as they come; per-candidate backends start training at once
        unless `overlap` is off (then everything starts at `results()`)."""
        return TrainingSession(self, progress, overlap)

    def _run_job(self, candidates: list[CandidateCode], progress: ProgressFn | None) -> list[TrainOutcome]:
        scratch = Path(tempfile.mkdtemp(prefix="eureka-train-"))
        stop = threading.Event()
        try:
            spec = TrainJobSpec(
                task=self.task.model_dump(mode="json"),
                candidates=[TrainCandidate(id=c.id, reward_file=f"reward_{i}.py") for i, c in enumerate(candidates)],
            )
            for i, candidate in enumerate(candidates):
                (scratch / f"reward_{i}.py").write_text(candidate.code)
            (scratch / JOB_FILE).write_text(spec.model_dump_json())
            _open_to_sandbox_user(scratch)
            watcher = None
            if progress:
                watcher = threading.Thread(target=_watch_progress, daemon=True,
                                           args=(scratch, [c.id for c in candidates], progress, stop))
                watcher.start()
            (scratch / ARTIFACTS_DIR).mkdir(mode=0o777)
            (scratch / ARTIFACTS_DIR).chmod(0o777)
            result = self.sandbox.run(SandboxJob("eureka.jobs.train", scratch, self.limits))
            _collect_artifacts(scratch / ARTIFACTS_DIR, candidates)
        finally:
            stop.set()
            shutil.rmtree(scratch, ignore_errors=True)
        jobs = [placement] if (placement := placement_of(result)) else []
        if result.ok and result.result is not None:
            try:
                return [o.model_copy(update={"jobs": jobs}) for o in TrainJobResult.model_validate(result.result).outcomes]
            except ValueError as exc:
                error = f"the train job wrote an unreadable result: {exc}"
        else:
            last = " | ".join(result.log_tail.strip().splitlines()[-3:])
            error = f"training failed in the sandbox: {result.detail}" + (f" ({last})" if last else "")
        return [TrainOutcome(candidate_id=c.id,
                             members=[MemberResult(seed=s, status="failed", error=error)
                                      for s in self.task.training.seeds], jobs=jobs)
                for c in candidates]


class TrainingSession:
    """One generation's training, overlapping the design of the generation's later candidates.

    Gymnasium: each candidate trains as soon as it is submitted (one job per candidate, up to
    `workers` at once). JAX: candidates train in populations, one at a time (a population
    uses every core); whenever no population is training, the candidates submitted so far
    start as one, and the rest train together at `results()`. A member's result depends only
    on its own reward and seed, not on the other members of its population (checked in
    tests/training), so how the generation is cut into populations changes no result.
    With `overlap` off, everything starts at `results()` (JAX: one population).
    """

    def __init__(self, runner: TrainingRunner, progress: ProgressFn | None, overlap: bool = True) -> None:
        self.runner = runner
        self.progress = progress
        self.population = runner.task.env.backend == "jax"
        self.overlap = overlap
        self.queued: list[CandidateCode] = []
        self.futures: list[Future] = []
        self.shards = max(1, getattr(runner.sandbox, "population_shards", 1))  # one per GPU/node (eureka.executor)
        self.pool = ThreadPoolExecutor(max_workers=self.shards if self.population else runner.workers)
        self.populations: list[list[str]] = []  # candidate ids of each population started (JAX)

    def submit(self, *candidates: CandidateCode) -> None:
        """Candidates submitted together (a candidate and its constant variants) start together."""
        if not candidates:
            return
        if not self.overlap:
            self.queued.extend(candidates)
        elif self.population:
            self.queued.extend(candidates)
            if all(future.done() for future in self.futures):
                self._start_population()
        else:
            for candidate in candidates:
                self.futures.append(self.pool.submit(self.runner._run_job, [candidate], self.progress))

    def results(self) -> list[TrainOutcome]:
        try:
            if self.population:
                if self.queued:
                    self._start_population()
            else:
                for candidate in self.queued:
                    self.futures.append(self.pool.submit(self.runner._run_job, [candidate], self.progress))
            return [outcome for future in self.futures for outcome in future.result()]
        finally:
            self.pool.shutdown()

    def _start_population(self) -> None:
        batch, self.queued = self.queued, []
        size = -(-len(batch) // self.shards)
        for shard in (batch[i:i + size] for i in range(0, len(batch), size)):
            self.populations.append([c.id for c in shard])
            self.futures.append(self.pool.submit(self.runner._run_job, shard, self.progress))


def _collect_artifacts(root: Path, candidates: list[CandidateCode]) -> None:
    """Copy regular files the job left for each candidate (never links; bounded size)."""
    for index, candidate in enumerate(candidates):
        source = root / str(index)
        if candidate.artifacts is None or not source.is_dir() or source.is_symlink():
            continue
        candidate.artifacts.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.iterdir()):
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_ARTIFACT_BYTES:
                continue
            shutil.copyfile(path, candidate.artifacts / path.name)


def _open_to_sandbox_user(scratch: Path) -> None:
    """The sandboxed job may run as an unprivileged uid: let it read inputs and write results."""
    scratch.chmod(0o777)
    for path in scratch.iterdir():
        path.chmod(0o666)


def _watch_progress(scratch: Path, ids: list[str], progress: ProgressFn, stop: threading.Event) -> None:
    last = None
    while not stop.wait(0.5):
        try:
            data = json.loads((scratch / PROGRESS_FILE).read_text())
        except (OSError, ValueError):
            continue
        point = (data.get("step"), data.get("total"))
        if point != last and None not in point:
            last = point
            for candidate_id in ids:
                progress(candidate_id, int(point[0]), int(point[1]))
