"""Train job: train every (candidate, seed) of job.json and write their outcomes.

job.json: TrainJobSpec; result.json: TrainJobResult. Progress goes to progress.json.
The backend's trainer (eureka.training.trainers) does the training.
"""

from __future__ import annotations

from eureka.jobs.common import read_job, scratch_from_argv, write_result
from eureka.training.base import TrainJobResult, TrainJobSpec
from eureka.training.trainers import trainer_for


def main() -> None:
    scratch = scratch_from_argv()
    spec = TrainJobSpec.model_validate(read_job(scratch))
    outcomes = trainer_for(spec.task["env"].get("backend", "gymnasium")).train(spec, scratch)
    write_result(scratch, TrainJobResult(outcomes=outcomes).model_dump(mode="json"))


if __name__ == "__main__":
    main()
