"""Shared machinery for sandboxes that run the job as a local child process."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import eureka
from eureka.config import SCRATCH_VARIABLE
from eureka.sandbox.base import SandboxJob, SandboxResult, Verdict, read_result, tail

PACKAGE_ROOT = Path(eureka.__file__).resolve().parent.parent

# Variables a job may see. Everything else on the host (API keys above all) stays out.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
    "JAX_PLATFORMS": "cpu",
    "MPLBACKEND": "Agg",
    "SDL_VIDEODRIVER": "dummy",
}
# Host settings that change numerics or hardware use but carry no secret.
PASSTHROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES")


def job_environment(scratch: str, home: str = "/tmp", python_path: str | None = None) -> dict[str, str]:
    env = dict(BASE_ENV)
    env["HOME"] = home
    env["TMPDIR"] = "/tmp"
    env["PYTHONPATH"] = python_path or str(PACKAGE_ROOT)
    env[SCRATCH_VARIABLE] = scratch
    for name in PASSTHROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_child(
    argv: Sequence[str],
    job: SandboxJob,
    env: dict[str, str],
    classify: Callable[[int], tuple[Verdict, str]] | None = None,
) -> SandboxResult:
    """Run argv in its own process group with a wall-clock timeout; read result.json.

    Output goes to a temporary file (not a pipe) so a job that prints without end can
    neither block on a full pipe nor fill our memory; only the tail is kept.
    """
    start = time.monotonic()
    limits = job.limits
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(job.scratch),
            start_new_session=True,
        )
        timed_out = False
        try:
            proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_group(proc.pid)
            proc.wait()
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - limits.max_output_bytes))
        log_tail = tail(log.read(), limits.max_output_bytes)
    wall = time.monotonic() - start
    code = proc.returncode
    result, refusal = read_result(job.scratch)
    if timed_out:
        return SandboxResult(Verdict.TIMEOUT, code, result, log_tail, wall,
                             f"timeout: killed after {limits.timeout_s:g} s")
    if classify is not None:
        verdict, detail = classify(code)
        if verdict is not Verdict.OK:
            return SandboxResult(verdict, code, result, log_tail, wall, detail)
    if code == 0 and result is not None:
        return SandboxResult(Verdict.OK, code, result, log_tail, wall, "ok")
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return SandboxResult(Verdict.KILLED, code, result, log_tail, wall, f"killed by {name}")
    detail = f"exit code {code}" + ("" if result is not None else f", {refusal}")
    return SandboxResult(Verdict.ERROR, code, result, log_tail, wall, detail)


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
