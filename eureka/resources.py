"""Files eureka ships beside its code: the prompt templates, the tasks and the sandbox setup.

In the repository they are the top-level folders prompts/, tasks/ and sandboxes/ (the sources);
a wheel carries copies inside the package, under eureka/shipped/ (see setup.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parent
SHIPPED = ("prompts", "tasks", "sandboxes")
TASK_SUFFIXES = (".yaml", ".yml")


def shipped(name: str) -> Path:
    """The folder `name` (one of SHIPPED): inside the installed package, else the repository's."""
    inside = PACKAGE / "shipped" / name
    return inside if inside.is_dir() else PACKAGE.parent / name


@dataclass(frozen=True)
class ShippedTask:
    name: str
    path: Path
    summary: str


def shipped_tasks() -> list[ShippedTask]:
    """The tasks that come with eureka, by name (the file's stem), with their description's first sentence."""
    tasks = []
    for path in sorted(shipped("tasks").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        description = " ".join(str(data.get("description", "")).split())
        summary = description.split(". ")[0].rstrip(".")
        backend = (data.get("env") or {}).get("backend", "gymnasium")
        tasks.append(ShippedTask(path.stem, path, f"{summary} ({backend})"))
    return tasks


def task_path(argument: str | Path) -> Path:
    """A task file given on the command line: a path, else the name of a shipped task."""
    path = Path(argument)
    if path.exists() or path.suffix in TASK_SUFFIXES or len(path.parts) > 1:
        return path
    candidate = shipped("tasks") / f"{argument}.yaml"
    return candidate if candidate.is_file() else path
