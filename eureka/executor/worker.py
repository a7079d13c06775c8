"""The worker-node side of a Ray job: unpack the scratch folder, run the job in this node's
own sandbox with the same limits, pack what it wrote. Imported by Ray on the worker, so it
must not need anything a worker lacks (the worker has the same eureka install as the head).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from eureka.executor.packing import pack, unpack
from eureka.sandbox import Sandbox, SandboxJob, SandboxLimits, Verdict, make_sandbox


@dataclass(frozen=True)
class WorkerReply:
    node: str
    verdict: Verdict
    exit_code: int | None
    log_tail: str
    wall_s: float  # the sandboxed job alone
    detail: str
    ran_s: float  # everything on the node
    outputs: bytes  # a tar of the files the job wrote
    left_out: tuple[str, ...] = ()


@lru_cache(maxsize=None)
def node_sandbox(name: str) -> Sandbox:
    """One sandbox per worker process: 'auto' probes Docker and bwrap once, on this node."""
    return make_sandbox(name)


def run_on_node(module: str, inputs: bytes, limits: SandboxLimits, sandbox: str, max_bytes: int) -> WorkerReply:
    import ray

    start = time.monotonic()
    node = ray.util.get_node_ip_address()
    scratch = Path(tempfile.mkdtemp(prefix="eureka-ray-"))
    try:
        sent = set(unpack(inputs, scratch, max_bytes))
        result = node_sandbox(sandbox).run(SandboxJob(module, scratch, limits))
        outputs = pack(scratch, max_bytes, skip=frozenset(sent), strict=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return WorkerReply(node=node, verdict=result.verdict, exit_code=result.exit_code, log_tail=result.log_tail,
                       wall_s=result.wall_s, detail=result.detail, ran_s=time.monotonic() - start,
                       outputs=outputs.data, left_out=tuple(outputs.left_out))
