"""Score job: a serialized JAX reward's values on the probe transitions; no candidate Python.

job.json: {"exported_file": "reward.jaxexport", "transitions_file": "transitions.npz",
           "space": {SpaceInfo fields}}
result.json: as eureka.jobs.probe's. The critic's pre-filter and novelty use these numbers:
the probe job that traced the reward ran its Python, this one runs only the serialized form.
"""

from __future__ import annotations

from eureka.envs.base import SpaceInfo, Transitions
from eureka.jobs.common import describe_exception, read_job, scratch_from_argv, write_result
from eureka.jobs.probe import inspect_output


def main() -> None:
    scratch = scratch_from_argv()
    job = read_job(scratch)
    space = SpaceInfo(**job["space"])
    transitions = Transitions.load(scratch / job["transitions_file"])
    try:
        import jax

        from eureka.envs.gymnax_backend import reward_args
        from eureka.training.exported_reward import load_exported

        reward, _ = load_exported((scratch / job["exported_file"]).read_bytes(), space)
        output = jax.device_get(jax.jit(reward)(*reward_args(transitions, space)))
    except Exception as exc:  # noqa: BLE001 - a blob that does not load is the candidate's failure
        write_result(scratch, {"problems": [f"the serialized reward does not run: {describe_exception(exc)}"],
                               "components": [], "total_mean": None})
        return
    problems, names, mean, values = inspect_output(output, len(transitions))
    write_result(scratch, {"problems": problems, "components": names, "total_mean": mean, "reward_values": values})


if __name__ == "__main__":
    main()
