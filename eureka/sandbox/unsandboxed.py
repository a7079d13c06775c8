"""`--sandbox none`: a plain child process. For trusted debugging only; warns on every use.

It still gets a clean environment, its own process group, a wall-clock timeout and
rlimits, but nothing stops it reading files, using the network or writing anywhere.
"""

from __future__ import annotations

import resource
import sys
from typing import TYPE_CHECKING

from eureka.sandbox import launch
from eureka.sandbox.base import SandboxJob, SandboxResult
from eureka.sandbox.mounts import import_path
from eureka.sandbox.process import job_environment, run_child

if TYPE_CHECKING:
    from eureka.envs.user import UserCode

WARNING = "sandbox 'none': generated code runs UNSANDBOXED on this machine (trusted debugging only)"


class UnsandboxedSandbox:
    name = "none"
    user_code: UserCode | None = None  # the task's env code: on PYTHONPATH (nothing to mount)

    def run(self, job: SandboxJob) -> SandboxResult:
        print(f"WARNING: {WARNING}", file=sys.stderr, flush=True)
        limits = job.limits

        mem = limits.memory_mb << 20
        rlimits = [(resource.RLIMIT_AS, mem * 4),  # virtual size: JAX reserves a lot
                   (resource.RLIMIT_FSIZE, limits.max_file_mb << 20), (resource.RLIMIT_CORE, 0)]
        argv = launch.command({"die_with_parent": True, "rlimits": rlimits},
                              [sys.executable, "-m", job.module, str(job.scratch)])
        return run_child(argv, job, job_environment(str(job.scratch),
                                                python_path=import_path(self.user_code)))
