"""Helpers shared by the sandboxed jobs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eureka.reward import describe_exception  # noqa: F401  (re-exported for the jobs)
from eureka.rundir.writer import atomic_write_json
from eureka.sandbox.base import JOB_FILE, RESULT_FILE


def scratch_from_argv() -> Path:
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python -m {sys.argv[0]} SCRATCH_DIR")
    return Path(sys.argv[1])


def read_job(scratch: Path) -> dict[str, Any]:
    return json.loads((scratch / JOB_FILE).read_text())


def write_json_atomic(path: Path, data: Any) -> None:
    """A job's file for the host: NaN stays NaN (the host's checks look for it)."""
    atomic_write_json(path, data, nan_as_null=False)


def write_result(scratch: Path, data: dict[str, Any]) -> None:
    write_json_atomic(scratch / RESULT_FILE, data)
