"""Overlap on the jax backend: populations start while later candidates are designed, and
the results are those of one population trained after the whole generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli

from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole"  # jnp rewards: 2 repaired, 1 rejected


def jax_run(tmp_path: Path, sandbox_name: str, flag: str) -> Path:
    tmp_path.mkdir()
    task = small_task(tmp_path, timesteps=5000, source=ROOT / "tasks" / "cartpole.yaml", eval_episodes=3,
                      seeds=[0, 1])
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(task), "--model", f"scripted:{SCRIPTED}", flag,
                                      "--iterations", "1", "--samples", "3", "--tune", "0",
                                      "--sandbox", sandbox_name, "--runs-dir", str(runs)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    return run_dir


def trained(run_dir: Path) -> dict[str, tuple]:
    """Per trained candidate: fitness, per-seed fitness and every checkpoint, variants included."""
    out = {}
    for path in sorted(run_dir.glob("iter_0/cand_*/metrics.json")):
        metrics = json.loads(path.read_text())
        members = [(m["seed"], m["fitness"], m["checkpoints"]) for m in metrics["outcome"]["members"]]
        out[metrics["candidate"]] = (metrics["fitness"], members, metrics["constant_tuning"])
    return out


def populations(run_dir: Path) -> list[list[str]]:
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    (event,) = [e for e in events if e["event"] == "populations_trained"]
    return event["populations"]


@pytest.mark.slow
@pytest.mark.timeout(900, method="thread")
def test_jax_overlap_trains_in_sub_populations_with_the_same_results(tmp_path: Path, sandbox_name: str) -> None:
    with_overlap = jax_run(tmp_path / "overlap", sandbox_name, "--overlap")
    without = jax_run(tmp_path / "no-overlap", sandbox_name, "--no-overlap")
    # the first accepted candidate trains while the others are designed (and repaired)
    assert populations(with_overlap) == [["i0-c0"], ["i0-c1"]]
    assert populations(without) == [["i0-c0", "i0-c1"]]
    results = trained(with_overlap)
    assert set(results) == {"i0-c0", "i0-c1"}
    assert all(fitness is not None for fitness, _, _ in results.values())
    assert results == trained(without)
