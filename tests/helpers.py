"""Small task files for tests: the shipped tasks with tiny budgets, written to a temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GYM_CARTPOLE = ROOT / "tests" / "data" / "tasks" / "cartpole_gymnasium.yaml"


def small_task(directory: Path, timesteps: int, source: Path = GYM_CARTPOLE, eval_episodes: int = 2,
               baselines: dict[str, Any] | None = None, **training: Any) -> Path:
    """`source` with `timesteps` per policy, no fitness target (no early stop), few evaluation
    episodes, and no baselines unless given; written as `directory/<name>.yaml`."""
    data = yaml.safe_load(source.read_text())
    data["training"].update(timesteps=timesteps, **training)
    data["fitness"].pop("target", None)
    data["fitness"]["eval_episodes"] = eval_episodes
    data.pop("baselines", None)
    if baselines:
        data["baselines"] = baselines
    path = directory / "cartpole.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def missing(what: str) -> None:
    """A test dependency is not installed: a failure on CI (which installs everything), else a skip."""
    import os

    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing on CI: scripts/install.sh --dev installs it")
    pytest.skip(f"{what} is not installed")


def require(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        missing(what)
