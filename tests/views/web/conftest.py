"""A finished scripted run in a runs directory of its own, for the web app's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.views.test_refine import finished_run


@pytest.fixture
def runs_dir(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, sandbox_name: str) -> Path:
    runs = tmp_path / "runs"
    runs.mkdir()
    finished_run(tmp_path_factory, sandbox_name, runs)
    return runs
