"""Data flows one way: no module imports a stage above its own (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "eureka"

# what a room may never import
FORBIDDEN = {
    "task.py": ("eureka.training", "eureka.loop", "eureka.design", "eureka.critic", "eureka.sandbox",
                "eureka.app", "eureka.config", "eureka.views", "eureka.rundir"),
    "config.py": ("eureka.loop", "eureka.views", "eureka.app", "eureka.rundir"),
    "sandbox": ("eureka.critic", "eureka.training", "eureka.loop", "eureka.design", "eureka.views", "eureka.app"),
    "training": ("eureka.jobs", "eureka.loop", "eureka.critic", "eureka.design", "eureka.views", "eureka.app"),
    "critic": ("eureka.loop", "eureka.views", "eureka.app"),
    "design": ("eureka.loop", "eureka.views", "eureka.app"),
    "rundir/records.py": ("eureka.loop", "eureka.views", "eureka.app", "eureka.design", "eureka.critic"),
    "rundir/writer.py": ("eureka",),
    "loop": ("eureka.views", "eureka.app", "eureka.cli"),
    "export.py": ("eureka.app", "eureka.loop"),
    # a tracker observes a run's events and records: it never reaches into the stages that make them
    "views/tracking": ("eureka.loop", "eureka.app", "eureka.cli", "eureka.design", "eureka.critic",
                       "eureka.sandbox", "eureka.executor", "eureka.jobs"),
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_import_runs_back_up(room: str) -> None:
    target = PACKAGE / room
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    bad = [f"{path.relative_to(PACKAGE)} imports {name}" for path in files for name in sorted(imports(path))
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[room])]
    assert bad == []
