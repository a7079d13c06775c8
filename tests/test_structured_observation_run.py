"""`eureka run` end to end in structured mode on a Dict-observation gridworld: the scripted spec
uses a block-derived quantity (the distance from the agent to the goal in the grid field) and a
named state (on_goal); the compiled reward passes the critic in the sandbox and trains for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli

ROOT = Path(__file__).resolve().parent.parent
TASK = ROOT / "tests" / "data" / "tasks" / "grid_dict.yaml"
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "grid_dict"


@pytest.mark.slow
@pytest.mark.timeout(900, method="thread")
def test_a_spec_over_grid_and_named_state_quantities_trains(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(TASK), "--model", f"scripted:{SCRIPTED}", "--mode", "spec",
                                      "--iterations", "1", "--samples", "1", "--timesteps", "4096",
                                      "--sandbox", sandbox_name, "--runs-dir", str(runs)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-grid_dict-*")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["best"]["candidate"] == "i0-c0" and run["best"]["fitness"] is not None
    reward = (run_dir / "best" / "reward.py").read_text()
    assert "distance_agent_goal = " in reward and "next_obs[:, 1:50:2] > 0.5" in reward  # the goal channel
    assert "on_goal = (np.sum(next_obs[:, 0:50][:, 0::2] * next_obs[:, 0:50][:, 1::2], axis=1))" in reward
    metrics = json.loads((run_dir / "iter_0" / "cand_0" / "metrics.json").read_text())
    assert metrics["outcome"]["members"][0]["checkpoints"]  # it trained
    (call,) = [json.loads(p.read_text()) for p in sorted((run_dir / "llm").glob("*.json"))]
    prompt = call["messages"][-1]["content"]
    assert "- distance_agent_goal: the distance from the agent (channel 0) to the nearest goal" in prompt
    assert "- time_left: time_left, in [0, 1]" in prompt  # the Dict field no line described
