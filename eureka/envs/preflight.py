"""Build the task's environment inside the sandbox before anything else (eureka.jobs.envcheck).

Every run does it once at its start, so an environment that cannot be imported, built, reset or
stepped inside the sandbox stops the run before the first LLM call, with the cause; `eureka check`
does it with more steps and shows what the designer will see.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.fields import ObsField
from eureka.envs.user import EnvCodeError, UserCode, import_failure, task_folder
from eureka.sandbox.base import JOB_FILE, Sandbox, SandboxJob, SandboxLimits
from eureka.task import TaskSpec
from eureka.envs.failures import ENV_FAILURE
from eureka.training.base import FitnessSpec, TrainOutcome

START_STEPS = 256  # what a run checks at its start: the env builds, resets and steps
MAX_TRANSITIONS_BYTES = 256 << 20


class EpisodeSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    length: int
    ended_by: Literal["termination", "time_limit", "cut"]  # cut: still running when the steps ran out
    env_return: float
    success: bool


class EnvReport(BaseModel):
    """What the env check job found (its result.json)."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    stage: str | None = None
    error: str | None = None
    missing_module: str | None = None
    obs_dim: int | None = None
    action_kind: Literal["discrete", "continuous"] | None = None
    action_dim: int | None = None
    array_module: Literal["numpy", "jax"] | None = None
    obs_fields: list[ObsField] = []  # a structured observation's fields (eureka.envs.fields)
    episodes: list[EpisodeSummary] = []
    transitions_file: str | None = None

    @property
    def space(self) -> SpaceInfo:
        assert self.ok and self.obs_dim is not None and self.action_kind and self.action_dim and self.array_module
        return SpaceInfo(self.obs_dim, self.action_kind, self.action_dim, self.array_module)

    def finished(self) -> list[EpisodeSummary]:
        return [e for e in self.episodes if e.ended_by != "cut"]

    def random_fitness(self, fitness: FitnessSpec) -> float | None:
        """The ground truth of the random policy over its finished episodes (None if none ended)."""
        episodes = self.finished()
        if not episodes:
            return None
        if fitness.metric == "success_rate":
            return float(np.mean([e.success for e in episodes]))
        if fitness.metric == "episode_length":
            return float(np.mean([e.length for e in episodes]))
        return float(np.mean([e.env_return for e in episodes]))


def stop_on_env_failure(outcomes: Iterable[TrainOutcome]) -> None:
    """Raise EnvCodeError when a training job says the environment itself failed (see
    eureka.jobs.envcheck.training_failure): every other candidate would fail the same way."""
    for outcome in outcomes:
        for member in outcome.members:
            if member.error and member.error.startswith(ENV_FAILURE):
                raise EnvCodeError(f"{member.error} (while training {outcome.candidate_id}, seed {member.seed}). "
                                   "This is the environment's failure, not a reward's: the run stops; fix the env "
                                   "and `eureka resume` the run")


def env_limits(task: TaskSpec) -> SandboxLimits:
    """JAX alone takes ~330 MB and its first compile some seconds under load."""
    if task.env.backend == "jax":
        return SandboxLimits(timeout_s=300.0, memory_mb=4096, max_pids=512)
    return SandboxLimits(timeout_s=120.0, memory_mb=2048, max_pids=512)


def build_env_in_sandbox(task: TaskSpec, sandbox: Sandbox, steps: int = START_STEPS,
                         seed: int = 0) -> tuple[EnvReport, Transitions | None]:
    """Run the env check job; raise EnvCodeError saying what failed, where, and the fix."""
    scratch = Path(tempfile.mkdtemp(prefix="eureka-envcheck-"))
    try:
        (scratch / JOB_FILE).write_text(json.dumps({"task": task.model_dump(mode="json"), "steps": steps,
                                                    "seed": seed}))
        scratch.chmod(0o777)  # the sandboxed job may run as an unprivileged uid
        (scratch / JOB_FILE).chmod(0o666)
        outcome = sandbox.run(SandboxJob("eureka.jobs.envcheck", scratch, env_limits(task)))
        if not outcome.ok or outcome.result is None:
            last = " | ".join(outcome.log_tail.strip().splitlines()[-3:])
            raise EnvCodeError(f"building the environment {task.env.id!r} in the sandbox failed: {outcome.detail}"
                               + (f" ({last})" if last else ""))
        try:
            report = EnvReport.model_validate(outcome.result)
        except ValidationError as exc:
            raise EnvCodeError(f"the env check job wrote an unreadable result: {exc}") from None
        if not report.ok:
            raise EnvCodeError(describe_failure(task, report, getattr(sandbox, "user_code", None)))
        transitions = _read_transitions(scratch, report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report, transitions


def describe_failure(task: TaskSpec, report: EnvReport, code: UserCode | None) -> str:
    if report.missing_module and code is not None:
        return (f"the environment {task.env.id!r} cannot be built inside the sandbox: "
                + import_failure(code, report.missing_module, report.error or "", task_folder(task)))
    head = f"the environment {task.env.id!r} failed inside the sandbox ({report.stage}): {report.error}"
    return f"{head}\nThis is the environment's failure, not a reward's: fix the env (or its kwargs) and rerun."


def _read_transitions(scratch: Path, report: EnvReport) -> Transitions | None:
    """The random-policy transitions, for display only (nothing here becomes a score)."""
    name = report.transitions_file
    if not name or "/" in name:
        return None
    path = scratch / name
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_TRANSITIONS_BYTES:
        return None
    try:
        return Transitions.load(path)
    except (OSError, ValueError, KeyError):
        return None
