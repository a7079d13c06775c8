"""Train job: train every (candidate, seed) of job.json and write their outcomes.

job.json: TrainJobSpec; result.json: TrainJobResult. Progress goes to progress.json.
"""

from __future__ import annotations

from pathlib import Path

from eureka.jobs.common import describe_exception, read_job, scratch_from_argv, write_json_atomic, write_result
from eureka.reward import load_reward
from eureka.task import task_from_dict
from eureka.training.exported_reward import EXPORTED_SUFFIX
from eureka.training.runner import ARTIFACTS_DIR
from eureka.training.base import PROGRESS_FILE, MemberResult, TrainJobResult, TrainJobSpec, TrainOutcome


def train_gymnasium(spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]:
    from eureka.training.sb3_trainer import train_member

    task = task_from_dict(spec.task)
    seeds = task.training.seeds
    total = task.training.timesteps * len(seeds) * len(spec.candidates)
    done_before = 0

    def progress(step: int, _member_total: int) -> None:
        write_json_atomic(scratch / PROGRESS_FILE, {"step": done_before + step, "total": total})

    outcomes = []
    for index, candidate in enumerate(spec.candidates):
        artifacts = scratch / ARTIFACTS_DIR / str(index)
        artifacts.mkdir(parents=True, exist_ok=True)
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
                except Exception as exc:  # the reward raised during training
                    members.append(MemberResult(seed=seed, status="failed",
                                                error=describe_exception(exc, candidate.reward_file)))
                done_before += task.training.timesteps
        outcomes.append(TrainOutcome(candidate_id=candidate.id, members=members))
    return outcomes


def train_jax(spec: TrainJobSpec, scratch: Path) -> list[TrainOutcome]:
    from eureka.training.jax_population import train_population_from_files

    task = task_from_dict(spec.task)

    def progress(step: int, total: int) -> None:
        write_json_atomic(scratch / PROGRESS_FILE, {"step": step, "total": total})

    artifacts = {}
    for index, candidate in enumerate(spec.candidates):
        artifacts[candidate.id] = scratch / ARTIFACTS_DIR / str(index)
        artifacts[candidate.id].mkdir(parents=True, exist_ok=True)
    # Serialized rewards only (the host writes .jaxexport files), and no final evaluation:
    # the host scores the handed-over policies in a separate job.
    for candidate in spec.candidates:
        if not candidate.reward_file.endswith(EXPORTED_SUFFIX):
            raise SystemExit(f"{candidate.reward_file}: the population trains serialized rewards only")
    return train_population_from_files(task, spec.candidates, scratch, progress, artifacts, evaluate=False)


def main() -> None:
    scratch = scratch_from_argv()
    spec = TrainJobSpec.model_validate(read_job(scratch))
    backend = spec.task["env"].get("backend", "gymnasium")
    outcomes = train_jax(spec, scratch) if backend == "jax" else train_gymnasium(spec, scratch)
    write_result(scratch, TrainJobResult(outcomes=outcomes).model_dump(mode="json"))


if __name__ == "__main__":
    main()
