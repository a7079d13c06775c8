"""Host side of training: hands candidates to sandboxed train jobs and collects outcomes.

Gymnasium tasks: one job per candidate, up to `workers` at once (one per core).
JAX tasks: one job for the whole generation (one compiled population program).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
        if result.ok and result.result is not None:
            try:
                return TrainJobResult.model_validate(result.result).outcomes
            except ValueError as exc:
                error = f"the train job wrote an unreadable result: {exc}"
        else:
            last = " | ".join(result.log_tail.strip().splitlines()[-3:])
            error = f"training failed in the sandbox: {result.detail}" + (f" ({last})" if last else "")
        return [TrainOutcome(candidate_id=c.id,
                             members=[MemberResult(seed=s, status="failed", error=error)
                                      for s in self.task.training.seeds])
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
        self.pool = ThreadPoolExecutor(max_workers=1 if self.population else runner.workers)
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
        self.populations.append([c.id for c in batch])
        self.futures.append(self.pool.submit(self.runner._run_job, batch, self.progress))


# What a train job may hand back per candidate, by name: nothing else is copied, so no job
# can write over a file the host keeps in the candidate's folder (reward.py, candidate.json...).
ARTIFACT_NAMES = re.compile(r"(policy|params)_seed\d+\.(zip|npz|safetensors)|vecnormalize_seed\d+\.pkl"
                            r"|rollouts_seed\d+\.npz|rollout_seed\d+\.(mp4|png|json)")
MAX_ARTIFACT_FILES = 32  # per candidate
MAX_ARTIFACT_TOTAL_BYTES = 256 << 20  # per candidate
MAX_SMALL_ARTIFACT_BYTES = 64 << 10  # .json files: the host parses them


def _collect_artifacts(root: Path, candidates: list[CandidateCode]) -> list[str]:
    """Copy the allowed regular files the job left for each candidate (never links, bounded
    count and size); what was refused, one line each."""
    from eureka.sandbox.untrusted import UntrustedOutput, copy_job_file, list_job_dir, read_job_json

    refused: list[str] = []
    for index, candidate in enumerate(candidates):
        if candidate.artifacts is None:
            continue
        try:
            names = list_job_dir(root, str(index), limit=4 * MAX_ARTIFACT_FILES)
        except (UntrustedOutput, OSError) as exc:
            refused.append(f"{candidate.id}: artifacts refused: {exc}")
            continue
        candidate.artifacts.mkdir(parents=True, exist_ok=True)
        copied, total = 0, 0
        for name in names:
            if not ARTIFACT_NAMES.fullmatch(name):
                refused.append(f"{candidate.id}: artifact {name[:80]!r} is not an allowed name")
                continue
            if copied >= MAX_ARTIFACT_FILES:
                refused.append(f"{candidate.id}: more than {MAX_ARTIFACT_FILES} artifacts")
                break
            cap = MAX_SMALL_ARTIFACT_BYTES if name.endswith(".json") else MAX_ARTIFACT_BYTES
            try:
                if name.endswith(".json"):  # parsed by the host later (the web page): depth-checked now
                    read_job_json(root, f"{index}/{name}", cap)
                total += copy_job_file(root, f"{index}/{name}", candidate.artifacts / name,
                                       min(cap, MAX_ARTIFACT_TOTAL_BYTES - total))
                copied += 1
            except (UntrustedOutput, OSError) as exc:
                refused.append(f"{candidate.id}: artifact refused: {exc}")
    return refused


def _open_to_sandbox_user(scratch: Path) -> None:
    """The sandboxed job may run as an unprivileged uid: let it read inputs and write results."""
    scratch.chmod(0o777)
    for path in scratch.iterdir():
        path.chmod(0o666)


def _watch_progress(scratch: Path, ids: list[str], progress: ProgressFn, stop: threading.Event) -> None:
    from eureka.sandbox.untrusted import MAX_PROGRESS_BYTES, UntrustedOutput, read_job_json

    last = None
    while not stop.wait(0.5):
        try:
            data = read_job_json(scratch, PROGRESS_FILE, MAX_PROGRESS_BYTES, max_depth=2)
        except (UntrustedOutput, OSError):
            continue
        if not isinstance(data, dict):
            continue
        point = (data.get("step"), data.get("total"))
        if point != last and all(isinstance(v, int) for v in point):
            last = point
            for candidate_id in ids:
                progress(candidate_id, int(point[0]), int(point[1]))
