"""Probe job: import a reward file and call it on a batch of real transitions.

job.json: {"reward_file": "reward.py", "transitions_file": "transitions.npz",
           "array_module": "numpy" | "jax", "space": {SpaceInfo fields}}
result.json: {"problems": [sentences], "components": [names], "total_mean": float | None,
              "reward_values": [total per transition] | None}
On jax, an accepted reward is also serialized to reward.jaxexport; with "export_only" the
job only does that. The host takes its numbers from eureka.jobs.score on that file, not
from this process, which ran candidate Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from eureka.envs.base import SpaceInfo, Transitions
from eureka.jobs.common import describe_exception, read_job, scratch_from_argv, write_result
from eureka.reward import load_reward
from eureka.training.exported_reward import EXPORTED_FILE


FIXABLE_SHAPE = "[fixable] "  # a scalar or (N, 1) output: the critic may broadcast or squeeze it


def inspect_output(output: Any, batch: int) -> tuple[list[str], list[str], float | None, list[float] | None]:
    """Problems with a reward's return value, its component names, its mean total and,
    when it is valid, the total reward per transition."""
    if not (isinstance(output, tuple) and len(output) == 2):
        return [f"compute_reward must return a tuple (total, components); it returned {type(output).__name__}"], [], None, None
    total, components = output
    problems: list[str] = []
    total_arr = np.asarray(total)
    if total_arr.shape in ((), (batch, 1)):
        problems.append(f"{FIXABLE_SHAPE}the total reward has shape {total_arr.shape}; it must have shape ({batch},), "
                        "one value per env")
    elif total_arr.shape != (batch,):
        problems.append(f"the total reward has shape {total_arr.shape}; it must have shape ({batch},), one value per env")
    elif not np.issubdtype(total_arr.dtype, np.number) and total_arr.dtype != bool:
        problems.append(f"the total reward has dtype {total_arr.dtype}; it must be numeric")
    elif not np.all(np.isfinite(total_arr.astype(np.float64))):
        bad = int(np.sum(~np.isfinite(total_arr.astype(np.float64))))
        problems.append(f"the total reward is NaN or infinite for {bad} of {batch} transitions")
    if not isinstance(components, dict):
        problems.append(f"components must be a dict of name -> array; got {type(components).__name__}")
        return problems, [], None, None
    if not components:
        problems.append("the components dict is empty; name each term of the reward")
    names = []
    for name, value in components.items():
        if not isinstance(name, str):
            problems.append(f"component key {name!r} is not a string")
            continue
        names.append(name)
        arr = np.asarray(value)
        if arr.shape in ((), (batch, 1)):
            problems.append(f"{FIXABLE_SHAPE}component '{name}' has shape {arr.shape}; it must have shape ({batch},)")
        elif arr.shape != (batch,):
            problems.append(f"component '{name}' has shape {arr.shape}; it must have shape ({batch},)")
        elif not np.all(np.isfinite(arr.astype(np.float64))):
            problems.append(f"component '{name}' is NaN or infinite for some transitions")
    if problems:
        return problems, names, None, None
    values = total_arr.astype(np.float64)
    return problems, names, float(np.mean(values)), [float(v) for v in values]


def export_to(scratch: Path, fn: Any, space: SpaceInfo) -> list[str]:
    """Serialize a jax reward (`EXPORTED_FILE`): later jobs use it, never this Python."""
    from eureka.training.exported_reward import export_reward

    try:
        (scratch / EXPORTED_FILE).write_bytes(export_reward(fn, space))
    except Exception as exc:  # noqa: BLE001 - generated code: any failure is a finding
        return [f"the reward could not be serialized as a pure JAX function: {describe_exception(exc)}"]
    return []


def main() -> None:
    scratch = scratch_from_argv()
    job = read_job(scratch)
    reward_file = scratch / job["reward_file"]
    space = SpaceInfo(**job["space"])
    try:
        fn = load_reward(reward_file)
    except BaseException as exc:  # the module itself may raise anything at import
        write_result(scratch, {"problems": [f"importing the reward failed: {describe_exception(exc, reward_file.name)}"],
                               "components": [], "total_mean": None})
        return
    if job.get("export_only"):  # a reward the critic accepted earlier (resume, export --verify, baselines)
        write_result(scratch, {"problems": export_to(scratch, fn, space), "components": [], "total_mean": None})
        return
    transitions = Transitions.load(scratch / job["transitions_file"])
    problems: list[str] = []
    if space.array_module == "jax":
        from eureka.envs.gymnax_backend import trace_check

        problems = trace_check(fn, space, transitions)
    if not problems:
        args = (transitions.obs, transitions.action, transitions.next_obs, transitions.terminated)
        if space.array_module == "jax":
            import jax.numpy as jnp

            args = tuple(jnp.asarray(a) for a in args)
        try:
            output = fn(*args)
        except BaseException as exc:
            problems = [f"calling compute_reward raised {describe_exception(exc, reward_file.name)}"]
        else:
            problems, names, mean, values = inspect_output(output, len(transitions))
            if not problems and space.array_module == "jax":
                problems = export_to(scratch, fn, space)
            write_result(scratch, {"problems": problems, "components": names, "total_mean": mean,
                                   "reward_values": values})
            return
    write_result(scratch, {"problems": problems, "components": [], "total_mean": None})


if __name__ == "__main__":
    main()
