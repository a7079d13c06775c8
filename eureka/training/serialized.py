"""The critic's numbers for jax rewards come from the serialized function, not from its Python.

The probe job (candidate Python) leaves `reward.jaxexport`; the host reads it without
following links, size-capped, and runs `eureka.jobs.score` on it in a fresh scratch dir:
the reward values the pre-filter ranks and novelty compares are computed there.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from dataclasses import asdict
from pathlib import Path

from eureka.envs.base import SpaceInfo

from eureka.sandbox.base import JOB_FILE, Sandbox, SandboxJob, SandboxLimits, SandboxResult
from eureka.training.exported_reward import EXPORTED_FILE, MAX_EXPORTED_BYTES

def read_exported(scratch: Path) -> bytes | None:
    """The serialized reward a probe job left, or None (missing, a link, not a file, too big)."""
    try:
        fd = os.open(scratch / EXPORTED_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_EXPORTED_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(MAX_EXPORTED_BYTES)
    finally:
        os.close(fd)

def score_exported(sandbox: Sandbox, limits: SandboxLimits, blob: bytes, transitions_npz: bytes,
                   space: SpaceInfo) -> SandboxResult:
    scratch = Path(tempfile.mkdtemp(prefix="eureka-score-"))
    try:
        (scratch / EXPORTED_FILE).write_bytes(blob)
        (scratch / "transitions.npz").write_bytes(transitions_npz)
        (scratch / JOB_FILE).write_text(json.dumps({"exported_file": EXPORTED_FILE,
                                                    "transitions_file": "transitions.npz", "space": asdict(space)}))
        scratch.chmod(0o777)
        for path in scratch.iterdir():
            path.chmod(0o666)
        return sandbox.run(SandboxJob("eureka.jobs.score", scratch, limits))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

def export_in_sandbox(sandbox: Sandbox, limits: SandboxLimits, code: str, space: SpaceInfo) -> tuple[bytes | None, str]:
    """Serialize a reward accepted earlier (resume, export --verify, baselines): its own probe
    job, alone. Returns the blob, or None and why."""
    scratch = Path(tempfile.mkdtemp(prefix="eureka-export-"))
    try:
        (scratch / "reward.py").write_text(code)
        (scratch / JOB_FILE).write_text(json.dumps({"reward_file": "reward.py", "export_only": True,
                                                    "space": asdict(space)}))
        scratch.chmod(0o777)
        for path in scratch.iterdir():
            path.chmod(0o666)
        outcome = sandbox.run(SandboxJob("eureka.jobs.probe", scratch, limits))
        blob = read_exported(scratch) if outcome.ok else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if blob is None:
        problems = (outcome.result or {}).get("problems") if outcome.ok else None
        return None, f"serializing the reward failed: {problems or outcome.detail}"
    return blob, ""
