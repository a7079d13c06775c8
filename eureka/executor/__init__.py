"""Executors: where the loop's sandboxed jobs run. Each is shaped like a `Sandbox`
(`run(SandboxJob) -> SandboxResult`), so critic probes, training, evaluation and export
checks go through it unchanged; its results also say where the job ran (`JobRecord`).

`local` (the default) is this machine's sandbox. `ray` sends each job to a Ray cluster as a
task with declared resources; the worker node runs it in its own sandbox with the same
limits and the head writes the job's files back into the scratch folder, where the host
reads them through the same checks as a local run (see docs/cluster.md).

Modules: local.py (the Executor protocol, LocalExecutor, make_executor), ray_executor.py,
worker.py (what a Ray worker runs), packing.py, records.py (ExecutorSpec, JobRecord). This
file imports nothing, so the records stay importable from the task model.
"""
