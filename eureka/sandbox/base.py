"""The sandbox contract: every execution of generated code goes through a `Sandbox`.

A job is a Python module of ``eureka.jobs`` run as ``python -m <module> <scratch>``.
The caller puts the job's inputs (``job.json``, reward files, sampled transitions) in a
host scratch directory; the sandbox makes that directory the only writable place the job
sees (at whatever path it chooses, passed as the single argument), runs the job with a
clean environment (no host variables: API keys never enter) and limits, and reads the
job's answer from ``result.json`` in the scratch dir. Results never come from stdout,
which is kept only as a log tail.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

RESULT_FILE = "result.json"
JOB_FILE = "job.json"


class SandboxError(RuntimeError):
    """A sandbox backend cannot run at all (missing engine, bad image, ...)."""


class Verdict(str, Enum):
    """How a sandboxed job ended."""

    OK = "ok"  # exited 0 and wrote result.json
    ERROR = "error"  # non-zero exit or no result.json
    TIMEOUT = "timeout"  # wall-clock limit reached, killed
    OOM = "oom"  # memory limit reached, killed
    KILLED = "killed"  # ended by a signal other than the above (pids limit, cpu rlimit, ...)


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 60.0
    memory_mb: int = 1024
    max_pids: int = 256  # threads count here too: XLA and torch start several per core
    cpus: float = 1.0
    max_file_mb: int = 256
    max_output_bytes: int = 1_000_000  # stdout/stderr kept at most this much (the tail)
    scratch_mb: int = 1024  # disk quota of the scratch dir (a tmpfs, as root)
    scratch_files: int = 10_000  # files and directories in the scratch dir at most


@dataclass(frozen=True)
class SandboxJob:
    module: str  # e.g. "eureka.jobs.probe"
    scratch: Path  # host directory, the job's only writable place
    limits: SandboxLimits = field(default_factory=SandboxLimits)


@dataclass(frozen=True)
class SandboxResult:
    verdict: Verdict
    exit_code: int | None
    result: dict[str, Any] | None  # parsed result.json, when the job wrote one
    log_tail: str
    wall_s: float
    detail: str = ""  # one line saying what happened, for critic.json and repair prompts

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


class Sandbox(Protocol):
    name: str

    def run(self, job: SandboxJob) -> SandboxResult: ...


def python_executable() -> str:
    return sys.executable


def read_result(scratch: Path) -> tuple[dict[str, Any] | None, str]:
    """The job's result.json read as untrusted (see `eureka.sandbox.untrusted`), and why it
    is missing or was refused (a link, a special file, too large, too deep, not an object)."""
    from eureka.sandbox.untrusted import UntrustedOutput, read_job_json

    try:
        data = read_job_json(scratch, RESULT_FILE)
    except UntrustedOutput as exc:
        return None, "no result.json" if exc.missing else f"result.json refused: {exc}"
    if not isinstance(data, dict):
        return None, "result.json refused: not a JSON object"
    return data, ""


def tail(text: bytes, limit: int) -> str:
    """The last `limit` bytes of a job's output as text, scrubbed of secret-shaped strings."""
    from eureka.sandbox.untrusted import scrub_text

    return scrub_text(text[-limit:].decode("utf-8", errors="replace"))
