"""Evaluation job: ground-truth fitness of policies the host checked; no candidate code here.

job.json: EvalJobSpec (the task, the expected network, the members' policy files);
result.json: EvalJobResult. Videos and rollouts go to artifacts/<candidate index>/.
Nothing in this process imports a reward: its scratch dir holds no reward code.
"""

from __future__ import annotations

from eureka.jobs.common import read_job, scratch_from_argv, write_result
from eureka.task import task_from_dict
from eureka.training.evaluation import EvalJobResult, EvalJobSpec, evaluate_gymnasium, evaluate_jax
from eureka.training.runner import ARTIFACTS_DIR


def main() -> None:
    scratch = scratch_from_argv()
    spec = EvalJobSpec.model_validate(read_job(scratch))
    task = task_from_dict(spec.task)
    evaluate = evaluate_jax if task.env.backend == "jax" else evaluate_gymnasium
    members = evaluate(task, spec, scratch, scratch / ARTIFACTS_DIR)
    write_result(scratch, EvalJobResult(members=members).model_dump(mode="json"))


if __name__ == "__main__":
    main()
