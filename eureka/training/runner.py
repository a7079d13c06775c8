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

from eureka.executor.local import placement_of
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
from eureka.training.trainers import ARTIFACTS_DIR, trainer_for

from eureka.training.clean_eval import evaluate_outcomes
from eureka.training.exported_reward import EXPORTED_REWARDS, EXPORTED_SUFFIX
from eureka.training.policy import PolicyArch, expected_arch

ProgressFn = Callable[[str, int, int], None]  # (candidate id, step, total)


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
        self._policy_arch: PolicyArch | None = None

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
            population = trainer_for(self.task.env.backend).population
            suffix = EXPORTED_SUFFIX if population else ".py"
            spec = TrainJobSpec(
                task=self.task.model_dump(mode="json"),
                candidates=[TrainCandidate(id=c.id, reward_file=f"reward_{i}{suffix}") for i, c in enumerate(candidates)],
            )
            unexported: dict[str, str] = {}
            exported = self._export_all([c.code for c in candidates]) if population else []
            for i, candidate in enumerate(candidates):
                if population:  # no candidate Python in the job that trains the others
                    blob, why = exported[i]
                    if blob is None:
                        unexported[candidate.id] = why
                    else:
                        (scratch / f"reward_{i}{suffix}").write_bytes(blob)
                else:
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
            outcomes = self._reported_outcomes(result, candidates)
            # The score comes from a separate job that sees only the checked policies.
            outcomes = evaluate_outcomes(self.sandbox, self.task, self.policy_arch, self.limits,
                                         scratch / ARTIFACTS_DIR, outcomes, [c.artifacts for c in candidates],
                                         lambda root: _collect_artifacts(root, candidates))
            jobs = [placement] if (placement := placement_of(result)) else []  # where it ran (eureka.executor)
            return [TrainOutcome(candidate_id=o.candidate_id, jobs=jobs,
                                 members=[MemberResult(seed=s, status="failed", error=unexported[o.candidate_id])
                                          for s in self.task.training.seeds])
                    if o.candidate_id in unexported else o.model_copy(update={"jobs": jobs}) for o in outcomes]
        finally:
            stop.set()
            shutil.rmtree(scratch, ignore_errors=True)

    def _export_all(self, codes: list[str]) -> list[tuple[bytes | None, str]]:
        """Each reward serialized; those the critic did not serialize (resume, tuned variants,
        export --verify) are, each in its own probe job, up to `workers` at once."""
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._exported, codes))

    def _exported(self, code: str) -> tuple[bytes | None, str]:
        """The reward as the critic serialized it, else serialized now in its own probe job."""
        blob = EXPORTED_REWARDS.get(code)
        if blob is not None:
            return blob, ""
        from eureka.training.serialized import export_in_sandbox
        from eureka.envs import space_info

        blob, why = export_in_sandbox(self.sandbox, SandboxLimits(timeout_s=120.0, memory_mb=2048),
                                      code, space_info(self.task.env))
        if blob is not None:
            EXPORTED_REWARDS.put(code, blob)
        return blob, why

    @property
    def policy_arch(self) -> PolicyArch:
        if self._policy_arch is None:
            from eureka.envs import space_info

            self._policy_arch = expected_arch(self.task, space_info(self.task.env))
        return self._policy_arch

    def _reported_outcomes(self, result, candidates: list[CandidateCode]) -> list[TrainOutcome]:
        """What the train job says (display data, and each member's own failure)."""
        if result.ok and result.result is not None:
            try:
                outcomes = TrainJobResult.model_validate(result.result).outcomes
                if [o.candidate_id for o in outcomes] == [c.id for c in candidates]:
                    return outcomes
                error = "the train job reported other candidates than it was given"
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
        self.population = trainer_for(runner.task.env.backend).population
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
