"""The one atomic writer: whole files only, JSON without NaN for the run directory, NaN kept for jobs."""

from __future__ import annotations

import json
import math
from pathlib import Path

from eureka.jobs.common import write_json_atomic
from eureka.rundir.records import EventKind, IterationSummary
from eureka.rundir.writer import atomic_write_json, atomic_write_text, jsonable


def test_writes_replace_whole_files_and_leave_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "file.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]


def test_records_become_plain_json_without_nan(tmp_path: Path) -> None:
    summary = IterationSummary(iteration=0, candidates=2, accepted=1, best_candidate="i0-c0",
                               best_fitness=float("nan"))
    atomic_write_json(tmp_path / "a.json", {"summary": summary, "kind": EventKind.NEW_BEST, "path": tmp_path})
    data = json.loads((tmp_path / "a.json").read_text())
    assert data == {"summary": {"iteration": 0, "candidates": 2, "accepted": 1, "best_candidate": "i0-c0",
                                "best_fitness": None}, "kind": "new_best", "path": str(tmp_path)}


def test_jobs_keep_nan_for_the_host_to_find(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "result.json", {"reward_values": [1.0, float("nan")]})
    values = json.loads((tmp_path / "result.json").read_text())["reward_values"]
    assert values[0] == 1.0 and math.isnan(values[1])
    assert jsonable([float("inf")]) == [None]


def test_the_writer_is_standard_library_only() -> None:
    """Sandboxed jobs import it: no pydantic, numpy or eureka module behind it."""
    import ast

    import eureka.rundir.writer as writer

    tree = ast.parse(Path(writer.__file__).read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= {"__future__", "json", "math", "os", "threading", "dataclasses", "enum", "pathlib", "typing"}
