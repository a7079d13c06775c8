"""Env check job: build the task's environment and run random-policy episodes, inside the sandbox.

Every run starts with it (a few steps), and `eureka check` runs it longer. No candidate code
runs here: only the user's environment, so a failure is the environment's, not a reward's.

job.json: {"task": task dict, "steps": int, "seed": int}
result.json: EnvReport (eureka.envs.preflight); the transitions go to transitions.npz.
"""

from __future__ import annotations

import importlib

import numpy as np

from eureka.envs.base import Transitions
from eureka.envs.failures import describe_failure
from eureka.jobs.common import read_job, scratch_from_argv, write_result

TRANSITIONS_FILE = "transitions.npz"
def episodes_of(transitions: Transitions, success: np.ndarray) -> list[dict]:
    """Whole and cut-off episodes of a stream of random-policy transitions."""
    episodes, start = [], 0
    ends = transitions.terminated | transitions.truncated
    for index in range(len(transitions)):
        last = index == len(transitions) - 1
        if not (ends[index] or last):
            continue
        ended_by = "termination" if transitions.terminated[index] else "time_limit" if ends[index] else "cut"
        episodes.append({"length": index - start + 1, "ended_by": ended_by,
                         "env_return": float(np.sum(transitions.env_reward[start:index + 1])),
                         "success": bool(success[index]) and bool(ends[index])})
        start = index + 1
    return episodes


def main() -> None:
    scratch = scratch_from_argv()
    job = read_job(scratch)
    from dataclasses import asdict

    from eureka.envs import observation_fields, sample_transitions, space_info
    from eureka.task import task_from_dict
    from eureka.training.fitness import success_flags

    task = task_from_dict(job["task"])
    stage = "import"
    try:
        for name in task.env.register_modules:
            importlib.import_module(name)
        stage = "construction"
        space = space_info(task.env)
        fields = [asdict(f) for f in observation_fields(task.env)]
        stage = "reset or step"
        transitions = sample_transitions(task.env, int(job["steps"]), seed=int(job["seed"]))
        stage = "fitness.success"
        success = np.asarray(success_flags(task.fitness, transitions.obs, transitions.next_obs,
                                           transitions.terminated, transitions.truncated,
                                           transitions.env_reward), dtype=bool)
    except BaseException as exc:  # the env may raise anything; all of it is the env's failure
        missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
        if isinstance(exc, ImportError) and stage == "construction":
            stage = "import"
        write_result(scratch, {"ok": False, "stage": stage, "error": describe_failure(exc),
                               "missing_module": missing})
        return
    transitions.save(scratch / TRANSITIONS_FILE)
    write_result(scratch, {"ok": True, "obs_dim": space.obs_dim, "action_kind": space.action_kind,
                           "action_dim": space.action_dim, "array_module": space.array_module,
                           "obs_fields": fields, "episodes": episodes_of(transitions, success),
                           "transitions_file": TRANSITIONS_FILE})


if __name__ == "__main__":
    main()
