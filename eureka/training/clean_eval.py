"""Host side of the clean evaluation: what a train job reports is display data; the score is not.

After a train job, the host reads each member's policy file (eureka.training.policy: npz,
no pickle, names and shapes checked against the network the task's trainer builds), writes
the checked arrays anew into a fresh scratch dir and runs `eureka.jobs.evaluate` there: a
separate sandboxed process that never sees reward code. Its numbers replace every fitness
the train job reported (final, per checkpoint, per episode). From the train job the host
keeps only what cannot raise a score: a member's own failure, and the candidate reward's
statistics (reward and component means), shown to people and to reflection.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from eureka.sandbox.base import JOB_FILE, Sandbox, SandboxJob, SandboxLimits
from eureka.task import TaskSpec
from eureka.training.base import EpisodeRecord, MemberResult, TrainOutcome
from eureka.training.evaluation import EvalJobResult, EvalJobSpec, EvalMember
from eureka.training.policy import PolicyArch, PolicyError, load_snapshots, policy_file, save_snapshots

ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class Policies:
    """Checked snapshots by (candidate index, seed); a member without one failed training."""

    snapshots: dict[tuple[int, int], dict]
    errors: dict[tuple[int, int], str]


def read_policies(train_artifacts: Path, outcomes: list[TrainOutcome], arch: PolicyArch,
                  max_checkpoints: int) -> Policies:
    """Each member's policy file, opened without following a link the job may have left
    (the folders included)."""
    snapshots, errors = {}, {}
    for index, outcome in enumerate(outcomes):
        for member in outcome.members:
            if member.status != "ok":
                continue
            key = (index, member.seed)
            try:
                with _directory(train_artifacts) as root, _directory(str(index), root) as folder:
                    snapshots[key] = load_snapshots(Path(policy_file(member.seed)), arch, max_checkpoints, folder)
            except FileNotFoundError:
                errors[key] = "the train job handed over no policy"
            except (PolicyError, OSError) as exc:
                errors[key] = f"the train job handed over an unusable policy: {exc}"
    return Policies(snapshots, errors)


@contextmanager
def _directory(path: Path | str, dir_fd: int | None = None) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def evaluate_outcomes(sandbox: Sandbox, task: TaskSpec, arch: PolicyArch, limits: SandboxLimits,
                      train_artifacts: Path, outcomes: list[TrainOutcome],
                      candidate_artifacts: list[Path | None],
                      collect: Callable[[Path], None]) -> list[TrainOutcome]:
    """Score every member that trained by its policy alone; `collect(artifacts_root)` copies
    the evaluation job's videos and rollouts to the candidates' folders."""
    max_checkpoints = task.training.checkpoints + 1
    policies = read_policies(train_artifacts, outcomes, arch, max_checkpoints)
    scratch = Path(tempfile.mkdtemp(prefix="eureka-eval-"))
    try:
        members, first_seen = [], set()
        for (index, seed), snaps in policies.snapshots.items():
            name = f"policy_{index}_seed{seed}.npz"
            save_snapshots(scratch / name, snaps)
            saved_to = candidate_artifacts[index]
            if saved_to is not None:
                saved_to.mkdir(parents=True, exist_ok=True)
                save_snapshots(saved_to / policy_file(seed), snaps)
            checkpoints = sum(1 for s in snaps if s.startswith("checkpoint"))
            contiguous = next((i for i in range(checkpoints + 1) if f"checkpoint{i}" not in snaps), 0)
            members.append(EvalMember(index=index, seed=seed, policy_file=name, checkpoints=contiguous,
                                      record=index not in first_seen))
            first_seen.add(index)
        if not members:
            return [_failed_without_policy(o, i, policies) for i, o in enumerate(outcomes)]
        spec = EvalJobSpec(task=task.model_dump(mode="json"), arch=arch, members=members)
        (scratch / JOB_FILE).write_text(spec.model_dump_json())
        scratch.chmod(0o777)
        for path in scratch.iterdir():
            path.chmod(0o666)
        (scratch / ARTIFACTS_DIR).mkdir(mode=0o777)
        (scratch / ARTIFACTS_DIR).chmod(0o777)
        result = sandbox.run(SandboxJob("eureka.jobs.evaluate", scratch, limits))
        if result.ok and result.result is not None:
            collect(scratch / ARTIFACTS_DIR)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    evaluated: dict[tuple[int, int], object] = {}
    failure = None
    if result.ok and result.result is not None:
        try:
            for row in EvalJobResult.model_validate(result.result).members:
                evaluated[(row.index, row.seed)] = row
        except ValueError as exc:
            failure = f"the evaluation job wrote an unreadable result: {exc}"
    else:
        last = " | ".join(result.log_tail.strip().splitlines()[-3:])
        failure = f"evaluating the policy failed in the sandbox: {result.detail}" + (f" ({last})" if last else "")
    merged = []
    for index, outcome in enumerate(outcomes):
        rows = []
        for member in outcome.members:
            key = (index, member.seed)
            if member.status != "ok":
                rows.append(_display_only(member))
            elif key in policies.errors:
                rows.append(_failed(member, policies.errors[key]))
            elif key not in evaluated:
                rows.append(_failed(member, failure or "the evaluation job did not score this policy"))
            else:
                rows.append(_scored(member, evaluated[key]))
        merged.append(TrainOutcome(candidate_id=outcome.candidate_id, members=rows))
    return merged


def _display_only(member: MemberResult) -> MemberResult:
    """A member the train job says failed: its word can only cost itself; no fitness kept."""
    checkpoints = [c.model_copy(update={"fitness": None}) for c in member.checkpoints]
    return member.model_copy(update={"fitness": None, "checkpoints": checkpoints, "episodes": []})


def _failed(member: MemberResult, error: str) -> MemberResult:
    return _display_only(member).model_copy(update={"status": "failed", "error": error})


def _scored(member: MemberResult, row) -> MemberResult:
    if row.fitness is None:
        return _failed(member, row.error or "the trained policy's evaluation was not finite")
    checkpoints = []
    for i, point in enumerate(member.checkpoints):
        fitness = row.checkpoint_fitness[i] if i < len(row.checkpoint_fitness) else None
        checkpoints.append(point.model_copy(update={"fitness": fitness}))
    episodes = list(row.episodes)
    if len(member.episodes) == len(episodes):  # the train job's episodes: the same seeds
        episodes = [EpisodeRecord(**{**clean.model_dump(), "components": dict(list(shown.components.items())[:64])})
                    for clean, shown in zip(episodes, member.episodes)]
    return member.model_copy(update={"fitness": row.fitness, "checkpoints": checkpoints, "episodes": episodes})


def _failed_without_policy(outcome: TrainOutcome, index: int, policies: Policies) -> TrainOutcome:
    rows = []
    for member in outcome.members:
        error = policies.errors.get((index, member.seed))
        rows.append(_failed(member, error) if error else _display_only(member))
    return TrainOutcome(candidate_id=outcome.candidate_id, members=rows)
