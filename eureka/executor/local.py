"""The Executor protocol, placements, the local executor and `make_executor`."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from eureka.executor.records import EXECUTOR_CHOICES, ExecutorSpec, JobRecord
from eureka.sandbox import Sandbox, SandboxJob, SandboxResult, make_sandbox

EventFn = Callable[..., None]  # Search.emit: (kind, **data)


class Executor(Protocol):
    """A Sandbox-shaped runner of jobs that also says how to split a JAX population."""

    name: str
    population_shards: int
    on_event: EventFn | None

    def run(self, job: SandboxJob) -> SandboxResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PlacedResult(SandboxResult):
    """A sandbox result with where the job ran."""

    placement: JobRecord | None = None


def placement_of(result: SandboxResult) -> JobRecord | None:
    return result.placement if isinstance(result, PlacedResult) else None


class LocalExecutor:
    """Today's sandbox on this machine; each result says it ran here."""

    population_shards = 1

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.name = sandbox.name
        self.node = socket.gethostname()
        self.on_event: EventFn | None = None

    def run(self, job: SandboxJob) -> PlacedResult:
        result = self.sandbox.run(job)
        placement = JobRecord(executor="local", module=job.module, node=self.node, queued_s=0.0,
                              ran_s=round(result.wall_s, 3))
        return PlacedResult(**vars(result), placement=placement)

    def close(self) -> None:
        pass


def make_executor(spec: ExecutorSpec, sandbox: str, user_code: Any = None) -> Executor:
    """The executor of `spec` running jobs in the `sandbox` backend (on each node, for Ray);
    `user_code` is the task's own env code to show inside the local sandbox (eureka.envs.user).

    Raises SandboxError when no sandbox can run here (local) or no Ray cluster answers (ray).
    """
    if spec.kind == "ray":
        from eureka.executor.ray_executor import RayExecutor

        return RayExecutor(spec, sandbox)  # workers see installed packages only (docs/cluster.md)
    return LocalExecutor(make_sandbox(sandbox, user_code=user_code))


__all__ = ["EXECUTOR_CHOICES", "Executor", "ExecutorSpec", "JobRecord", "LocalExecutor", "PlacedResult", "make_executor",
           "placement_of"]
