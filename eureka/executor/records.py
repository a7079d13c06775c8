"""What the run records about executors: the task file's `executor:` section and, per job,
where it ran. Light on purpose (no Ray import): the task, the loop and the records use it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ExecutorKind = Literal["local", "ray"]
EXECUTOR_CHOICES = ("local", "ray")


class ExecutorSpec(BaseModel):
    """Where the run's jobs (critic probes, training, evaluation, export checks) execute."""

    model_config = ConfigDict(extra="forbid")

    kind: ExecutorKind = Field(default="local", description="local: this machine's sandbox; ray: a Ray "
                               "cluster, each job a task run in the worker node's own sandbox")
    address: str = Field(default="auto", description="the Ray cluster: auto (the one this machine joined "
                         "with `ray start`) or ray://HOST:10001 (Ray client)")
    max_retries: int = Field(default=2, ge=0, description="times a job is run again after its worker or "
                             "node died (never after the job itself failed)")
    gpus_per_train_job: float = Field(default=0.0, ge=0, description="GPUs a training job asks Ray for; "
                                      "with GPUs a JAX population is split into one sub-population per GPU")
    cpus_per_short_job: float = Field(default=0.25, gt=0, description="CPUs a probe or other short job "
                                      "declares: it shares a core with training instead of queueing behind it")
    max_transfer_mb: int = Field(default=512, gt=0, description="most a job's files may weigh, each way")


class JobRecord(BaseModel):
    """Where one job ran, written by the host (never read from what a job wrote)."""

    model_config = ConfigDict(extra="forbid")

    executor: ExecutorKind
    module: str  # e.g. eureka.jobs.train
    node: str  # the node's address ("local" for a local run)
    queued_s: float  # from submission to the start on the node, transfers included
    ran_s: float  # on the node: unpacking, the sandboxed job, packing
    attempts: int = 1
    lost: list[str] = Field(default_factory=list)  # why earlier attempts ended (a node died, ...)
