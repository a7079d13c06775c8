"""The one atomic writer of files: temp file, fsync, rename, so a killed process leaves only
whole files behind.

Standard library only: the sandboxed jobs import it too (their progress and result files).
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any


def jsonable(value: Any, nan_as_null: bool = True) -> Any:
    """Plain JSON data from records (pydantic models, dataclasses); NaN and infinities become
    null unless `nan_as_null` is off (a job's result keeps them: a NaN reward is a finding)."""
    if hasattr(value, "model_dump") and not isinstance(value, type):  # a pydantic model
        return jsonable(value.model_dump(mode="json"), nan_as_null)
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value), nan_as_null)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, Enum) else k): jsonable(v, nan_as_null) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, nan_as_null) for v in value]
    if nan_as_null and isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN
    if isinstance(value, Path):
        return str(value)
    return value


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: Any, nan_as_null: bool = True) -> None:
    atomic_write_text(path, json.dumps(jsonable(data, nan_as_null), indent=2) + "\n")
