"""A run that fails mid-generation and is resumed ends with the same filter and critic counts as
one that was never interrupted (the unfinished generation is redone, and counted, once)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "tests" / "data" / "scripted" / "cartpole_filters"  # good, same program, rescaled, pays for falling, repair


def task(tmp_path: Path, max_repairs: int) -> Path:
    path = small_task(tmp_path, timesteps=2048)
    data = yaml.safe_load(path.read_text())
    data["search"]["max_repairs"] = max_repairs
    path.write_text(yaml.safe_dump(data))
    return path


def run(tmp_path: Path, replies: Path, samples: int, max_repairs: int, sandbox: str, *args: str):
    runs = tmp_path / "runs"
    return CliRunner().invoke(cli, [*args] if args else [
        "run", str(task(tmp_path, max_repairs)), "--model", f"scripted:{replies}", "--iterations", "1",
        "--samples", str(samples), "--sandbox", sandbox, "--runs-dir", str(runs)]), runs


def counts(run_dir: Path) -> tuple[dict, list]:
    data = json.loads((run_dir / "run.json").read_text())
    return data["filters"], [(it["candidates"], it["accepted"]) for it in data["iterations"]]


@pytest.mark.slow
@pytest.mark.parametrize("samples, max_repairs", [(4, 1), (5, 0)], ids=["during a repair", "after a rejection"])
def test_resume_keeps_exact_counts(tmp_path: Path, sandbox_name: str, samples: int, max_repairs: int) -> None:
    whole = tmp_path / "whole"
    whole.mkdir()
    result, runs = run(whole, FILTERS, samples, max_repairs, sandbox_name)
    assert result.exit_code == 0, result.output
    (uninterrupted,) = runs.glob("*-cartpole-*")

    cut = tmp_path / "cut"
    replies = cut / "replies"
    shutil.copytree(FILTERS, replies)
    last = sorted(replies.iterdir())[-1]
    kept = last.read_text()
    last.unlink()  # the script runs out in the middle of the generation
    result, runs = run(cut, replies, samples, max_repairs, sandbox_name)
    assert result.exit_code == 1 and "used up" in result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    last.write_text(kept)
    result, _ = run(cut, replies, samples, max_repairs, sandbox_name, "resume", str(run_dir))
    assert result.exit_code == 0, result.output

    assert counts(run_dir) == counts(uninterrupted)
    assert counts(run_dir)[0] == {"same_program": 1, "same_reward": 1, "ranking": 1}
