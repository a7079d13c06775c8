"""The trainer backends, by the task's `env.backend`: what the rest of eureka asks instead of
testing the backend's name. Adding a backend: a class with these fields and `train`, and
one entry in TRAINERS.

`train` runs inside the sandbox (eureka.jobs.train); the heavy libraries load only there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eureka.envs.failures import env_module, training_failure
from eureka.reward import describe_exception, load_reward
from eureka.rundir.writer import atomic_write_json
from eureka.sandbox.base import SandboxLimits
from eureka.task import task_from_dict
from eureka.training.base import PROGRESS_FILE, MemberResult, TrainJobSpec, TrainOutcome

ARTIFACTS_DIR = "artifacts"  # the job writes artifacts/<candidate index>/... (policies, videos)


class Trainer(Protocol):
    backend: str
    population: bool  # a generation trains as populations in one compiled program, one job at a time
    default_constant_variants: int  # constant-tuning variants per candidate unless the task says
    probe_limits: SandboxLimits  # the critic's probe job on this backend

    def train(self, spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]: ...


def _write_progress(scratch: Path, step: int, total: int) -> None:
    atomic_write_json(scratch / PROGRESS_FILE, {"step": step, "total": total}, nan_as_null=False)


def _artifacts(scratch: Path, index: int) -> Path:
    path = scratch / ARTIFACTS_DIR / str(index)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class GymnasiumTrainer:
    """Stable-Baselines3 PPO, one process per candidate: each constant variant is one more
    training process, so constant tuning is off unless asked for."""

    backend: str = "gymnasium"
    population: bool = False
    default_constant_variants: int = 0
    probe_limits: SandboxLimits = field(default_factory=lambda: SandboxLimits(timeout_s=60.0, memory_mb=1024))

    def train(self, spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]:
        from eureka.training.sb3_trainer import train_member

        task = task_from_dict(spec.task)
        seeds = task.training.seeds
        total = task.training.timesteps * len(seeds) * len(spec.candidates)
        done_before = 0

        def progress(step: int, _member_total: int) -> None:
            _write_progress(scratch, done_before + step, total)

        outcomes = []
        for index, candidate in enumerate(spec.candidates):
            artifacts = _artifacts(scratch, index)
            members = []
            try:
                reward_fn = load_reward(scratch / candidate.reward_file)
            except BaseException as exc:
                error = describe_exception(exc, candidate.reward_file)
                members = [MemberResult(seed=s, status="failed", error=error) for s in seeds]
            else:
                for seed in seeds:
                    try:
                        members.append(train_member(task, reward_fn, seed, progress, artifacts))
                    except Exception as exc:  # the reward (or the env itself) raised during training
                        error = (training_failure(exc, candidate.reward_file, env_module(task))
                                 or describe_exception(exc, candidate.reward_file))
                        members.append(MemberResult(seed=seed, status="failed", error=error))
                    done_before += task.training.timesteps
            outcomes.append(TrainOutcome(candidate_id=candidate.id, members=members))
        return outcomes


@dataclass(frozen=True)
class JaxTrainer:
    """A population of PPO agents in one jitted program: variants are nearly free. JAX alone
    takes ~330 MB, and tracing plus a jitted call some seconds under load (the probe's limits)."""

    backend: str = "jax"
    population: bool = True
    default_constant_variants: int = 4
    probe_limits: SandboxLimits = field(default_factory=lambda: SandboxLimits(timeout_s=180.0, memory_mb=2048))

    def train(self, spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]:
        from eureka.training.jax_population import train_population_from_files

        from eureka.training.exported_reward import EXPORTED_SUFFIX

        task = task_from_dict(spec.task)
        # Serialized rewards only (the host writes .jaxexport files), and no final evaluation:
        # the host scores the handed-over policies in a separate job.
        for candidate in spec.candidates:
            if not candidate.reward_file.endswith(EXPORTED_SUFFIX):
                raise SystemExit(f"{candidate.reward_file}: the population trains serialized rewards only")
        artifacts = {candidate.id: _artifacts(scratch, index) for index, candidate in enumerate(spec.candidates)}
        return train_population_from_files(task, spec.candidates, scratch,
                                           lambda step, total: _write_progress(scratch, step, total), artifacts,
                                           evaluate=False)


@dataclass(frozen=True)
class IsaacGymTrainer:
    """The isaacgym backend's place in the registry. eureka does not train on Isaac Gym itself:
    `eureka run` stops before any job (eureka.task_check); a job that gets here anyway fails
    with the same reason. docs/isaacgym.md shows how IsaacGymEnvs' train.py (rl_games PPO) trains
    a reward through eureka.envs.isaacgym_reward."""

    backend: str = "isaacgym"
    population: bool = False
    default_constant_variants: int = 0
    probe_limits: SandboxLimits = field(default_factory=SandboxLimits)

    def train(self, spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]:
        from eureka.envs.isaacgym_backend import IsaacGymUnavailable, unavailable_reason

        raise IsaacGymUnavailable(unavailable_reason())


TRAINERS: dict[str, Trainer] = {"gymnasium": GymnasiumTrainer(), "jax": JaxTrainer(), "isaacgym": IsaacGymTrainer()}


def trainer_for(backend: str) -> Trainer:
    try:
        return TRAINERS[backend]
    except KeyError:
        raise ValueError(f"no trainer for env.backend {backend!r} (known: {', '.join(TRAINERS)})") from None
