"""Helpers shared by the sandboxed jobs."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from eureka.sandbox.base import JOB_FILE, RESULT_FILE


def scratch_from_argv() -> Path:
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python -m {sys.argv[0]} SCRATCH_DIR")
    return Path(sys.argv[1])


def read_job(scratch: Path) -> dict[str, Any]:
    return json.loads((scratch / JOB_FILE).read_text())


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def write_result(scratch: Path, data: dict[str, Any]) -> None:
    write_json_atomic(scratch / RESULT_FILE, data)


def describe_exception(exc: BaseException, reward_file: str | None = None) -> str:
    """The exception with the traceback lines that point into the reward file only."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [
        f"  line {f.lineno}: {f.line}"
        for f in frames
        if reward_file is None or Path(f.filename).name == Path(reward_file).name
    ]
    where = ("\n" + "\n".join(lines[-3:])) if lines else ""
    return f"{type(exc).__name__}: {exc}{where}"
