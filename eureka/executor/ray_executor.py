"""The `ray` executor: each sandboxed job becomes a Ray task on some node of a cluster.

The job's scratch folder is packed (capped), sent with the task, unpacked on the worker node
and run there in that node's own sandbox with the same limits (eureka.executor.worker); the
files the job wrote come back and are written into the head's scratch folder, and the head
reads result.json from there itself, exactly as after a local run. The task declares the
job's resources (CPUs, memory, GPUs for training when asked), so Ray places it on a node
with room. A job whose worker or node dies is run again elsewhere (bounded, recorded in the
job's `JobRecord`); SIGINT/SIGTERM on the head cancel the outstanding tasks.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from eureka.executor.local import EventFn, PlacedResult
from eureka.executor.packing import TransferTooLarge, pack, unpack
from eureka.executor.records import ExecutorSpec, JobRecord
from eureka.rundir.records import EventKind
from eureka.sandbox.base import SandboxError, SandboxJob, SandboxLimits, Verdict, read_result

TRAIN_MODULE = "eureka.jobs.train"
INSTALL_HINT = "install the Ray extra: pip install 'eureka[ray]' (scripts/install.sh does)"


def _lost_errors() -> tuple[type[BaseException], ...]:
    """Ray's errors for a job that did not fail by itself: its worker, node or objects went away."""
    from ray import exceptions as rex

    names = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "OutOfMemoryError",
             "ObjectLostError", "OwnerDiedError", "RaySystemError", "TaskUnschedulableError",
             "ActorUnschedulableError")
    return tuple(getattr(rex, name) for name in names if hasattr(rex, name))


class RayExecutor:
    name = "ray"

    def __init__(self, spec: ExecutorSpec, sandbox: str) -> None:
        try:
            import ray
        except ImportError:
            raise SandboxError(f"--executor ray: Ray is not installed; {INSTALL_HINT}") from None
        self.spec, self.sandbox_name = spec, sandbox
        self.max_bytes = spec.max_transfer_mb << 20
        self.on_event: EventFn | None = None
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._outstanding: set[Any] = set()
        if not ray.is_initialized():
            try:
                ray.init(address=spec.address, log_to_driver=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SandboxError(f"--executor ray: no Ray cluster answers at {spec.address!r} ({exc}); start "
                                   "one with `ray start --head` (see docs/cluster.md)") from None
        from eureka.executor.worker import run_on_node

        self._remote = ray.remote(run_on_node)
        self._lost = _lost_errors()
        self._previous_handlers = self._install_signal_handlers()

    # -- the cluster ---------------------------------------------------------------
    @staticmethod
    def nodes() -> list[dict[str, Any]]:
        import ray

        return [n for n in ray.nodes() if n.get("Alive")]

    @property
    def population_shards(self) -> int:
        """Sub-populations a JAX generation is split into: one per GPU when training asks for
        GPUs, else one per node with CPUs (a single worker keeps the population whole)."""
        if self.spec.gpus_per_train_job > 0:
            gpus = sum(n["Resources"].get("GPU", 0) for n in self.nodes())
            return max(1, int(gpus // self.spec.gpus_per_train_job))
        return max(1, sum(1 for n in self.nodes() if n["Resources"].get("CPU", 0) > 0))

    def resources(self, job: SandboxJob) -> dict[str, Any]:
        if job.module == TRAIN_MODULE:
            cpus, gpus = job.limits.cpus, self.spec.gpus_per_train_job
        else:
            cpus, gpus = min(job.limits.cpus, self.spec.cpus_per_short_job), 0.0
        return {"num_cpus": cpus, "num_gpus": gpus, "memory": job.limits.memory_mb << 20}

    def unfit(self, wanted: dict[str, Any]) -> str | None:
        """Why no node that joined the cluster could ever take the job (a task Ray would hold
        forever). Nodes that died count: a lost node is usually replaced, and Ray waits for it."""
        import ray

        needs = {"CPU": wanted["num_cpus"], "GPU": wanted["num_gpus"], "memory": wanted["memory"]}
        for node in ray.nodes():
            if all(node["Resources"].get(key, 0) >= amount for key, amount in needs.items() if amount):
                return None
        return (f"no node of the Ray cluster has {wanted['num_cpus']:g} CPUs, {wanted['num_gpus']:g} GPUs and "
                f"{wanted['memory'] >> 20} MB of memory free to declare (start workers with more, e.g. "
                "`ray start --memory`, or lower the task's limits)")

    # -- running a job -------------------------------------------------------------
    def run(self, job: SandboxJob) -> PlacedResult:
        submitted = time.monotonic()
        try:
            inputs = pack(job.scratch, self.max_bytes)
        except TransferTooLarge as exc:
            return self._failed(job, Verdict.ERROR, f"not sent to the cluster: {exc}", submitted)
        wanted = self.resources(job)
        reason = self.unfit(wanted)
        if reason:
            return self._failed(job, Verdict.ERROR, reason, submitted)
        lost: list[str] = []
        for attempt in range(1, self.spec.max_retries + 2):
            if self.cancelled.is_set():
                return self._failed(job, Verdict.KILLED, "cancelled: the head is stopping", submitted, lost)
            ref = self._remote.options(**wanted, max_retries=0, retry_exceptions=False).remote(
                job.module, inputs.data, job.limits, self.sandbox_name, self.max_bytes)
            try:
                reply = self._wait(ref)
            except self._lost as exc:
                lost.append(f"attempt {attempt}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                self.emit(EventKind.JOB_LOST, module=job.module, attempt=attempt, error=lost[-1],
                          retry=attempt <= self.spec.max_retries)
                continue
            if reply is None:
                return self._failed(job, Verdict.KILLED, "cancelled: the head is stopping", submitted, lost)
            return self._finish(job, reply, submitted, attempt, lost)
        return self._failed(job, Verdict.KILLED, f"lost {len(lost)} times on the cluster: {lost[-1]}",
                            submitted, lost)

    def _wait(self, ref: Any) -> Any:
        """The task's reply; None once the head is stopping (the task is then cancelled)."""
        import ray

        with self._lock:
            self._outstanding.add(ref)
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=0.5)
                if ready:
                    return ray.get(ref)
                if self.cancelled.is_set():
                    ray.cancel(ref, recursive=True)
                    return None
        finally:
            with self._lock:
                self._outstanding.discard(ref)

    def _finish(self, job: SandboxJob, reply: Any, submitted: float, attempts: int, lost: list[str]) -> PlacedResult:
        elapsed = time.monotonic() - submitted
        placement = JobRecord(executor="ray", module=job.module, node=reply.node, ran_s=round(reply.ran_s, 3),
                              queued_s=round(max(0.0, elapsed - reply.ran_s), 3), attempts=attempts, lost=lost)
        detail = reply.detail
        try:
            unpack(reply.outputs, job.scratch, self.max_bytes)
        except (TransferTooLarge, OSError, ValueError) as exc:
            return self._failed(job, Verdict.ERROR, f"the job's files could not be written back: {exc}",
                                submitted, lost, placement)
        if reply.left_out:
            detail += f" (left on the node: {', '.join(reply.left_out[:3])})"
        self.emit(EventKind.JOB_FINISHED, module=job.module, node=reply.node, queued_s=placement.queued_s,
                  ran_s=placement.ran_s, attempts=attempts, verdict=reply.verdict.value)
        result, refusal = read_result(job.scratch)  # the same checks as after a local run
        verdict = reply.verdict
        if refusal and verdict is Verdict.OK:
            verdict, detail = Verdict.ERROR, refusal
        return PlacedResult(verdict, reply.exit_code, result, reply.log_tail, reply.wall_s, detail,
                            placement=placement)

    def _failed(self, job: SandboxJob, verdict: Verdict, detail: str, submitted: float,
                lost: list[str] | None = None, placement: JobRecord | None = None) -> PlacedResult:
        wall = time.monotonic() - submitted
        placement = placement or JobRecord(executor="ray", module=job.module, node="-", queued_s=round(wall, 3),
                                           ran_s=0.0, attempts=len(lost or []), lost=lost or [])
        self.emit(EventKind.JOB_FAILED, module=job.module, detail=detail)
        return PlacedResult(verdict, None, None, "", wall, detail, placement=placement)

    def emit(self, kind: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event(kind, **data)

    # -- stopping ------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel every outstanding task; running jobs are stopped inside their sandbox."""
        import ray

        self.cancelled.set()
        with self._lock:
            refs = list(self._outstanding)
        for ref in refs:
            try:
                ray.cancel(ref, recursive=True)
            except Exception:  # noqa: BLE001 - a task that just finished cannot be cancelled
                pass

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.getsignal(number)
            signal.signal(number, self._on_signal)
        return previous

    def _on_signal(self, number: int, frame: Any) -> None:
        self.cancel()
        handler = self._previous_handlers.get(number)
        if number == signal.SIGINT and callable(handler):
            handler(number, frame)
        raise KeyboardInterrupt  # SIGTERM too (not Ray's sys.exit): the run stops as after Ctrl-C, state saved

    def close(self) -> None:
        for number, handler in self._previous_handlers.items():
            if signal.getsignal(number) == self._on_signal:
                signal.signal(number, handler)
        self._previous_handlers = {}



