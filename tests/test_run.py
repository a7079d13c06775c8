"""`eureka run` end to end with scripted replies: exit codes and the run directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli

from .helpers import small_task

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"


def small_cartpole(tmp_path: Path) -> Path:
    # no target, so no early stop: both generations must run
    return small_task(tmp_path, timesteps=2048,
                      baselines={"human": str(ROOT / "tasks" / "rewards" / "numpy" / "cartpole_human.py")})


def run_cli(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, sandbox_name: str) -> Path:
    tmp_path = tmp_path_factory.mktemp("run")
    runs = tmp_path / "runs"
    result = run_cli(["run", str(small_cartpole(tmp_path)), "--model", f"scripted:{SCRIPTED}",
                      "--iterations", "2", "--samples", "3", "--sandbox", sandbox_name, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    return run_dir


@pytest.mark.slow
def test_run_json_records_task_model_iterations_and_best(finished_run: Path) -> None:
    run = json.loads((finished_run / "run.json").read_text())
    assert run["status"] == "finished"
    assert run["task"]["name"] == "cartpole"
    assert run["model"] == f"scripted:{SCRIPTED}"
    assert [it["iteration"] for it in run["iterations"]] == [0, 1]
    assert [it["accepted"] for it in run["iterations"]] == [2, 3]
    assert run["best"]["candidate"] in {"i0-c0", "i0-c1", "i1-c0", "i1-c1", "i1-c2"}
    assert "numpy" in run["versions"]
    assert 0.0 <= run["best_distance_to_human"] <= 1.0
    best_dir = finished_run / run["best"]["directory"]
    assert (finished_run / "best" / "reward.py").read_text() == (best_dir / "reward.py").read_text()


@pytest.mark.slow
def test_candidate_directories_hold_reply_reward_critic_and_metrics(finished_run: Path) -> None:
    for cand in ("iter_0/cand_0", "iter_0/cand_1", "iter_1/cand_0", "iter_1/cand_1", "iter_1/cand_2"):
        directory = finished_run / cand
        for name in ("reply.md", "reward.py", "critic.json", "metrics.json", "candidate.json"):
            assert (directory / name).is_file(), f"{cand}/{name}"
        metrics = json.loads((directory / "metrics.json").read_text())
        assert len(metrics["outcome"]["members"][0]["checkpoints"]) >= 5
        assert "task_score" in metrics["reflection"]


@pytest.mark.slow
def test_trained_policies_leave_rollouts_that_the_next_generation_ranks_on(finished_run: Path) -> None:
    from eureka.loop.database import TrajectoryPool
    from eureka.envs import sample_transitions
    from eureka.task import EnvSpec

    pool = TrajectoryPool(sample_transitions(EnvSpec(id="CartPole-v1"), 64, seed=0))
    for cand in ("iter_0/cand_0", "iter_0/cand_1"):
        assert pool.add_from_dir(cand, finished_run / cand), cand
    rollouts = pool.rollouts["iter_0/cand_0"]
    assert 0 < len(rollouts) <= 1024
    assert rollouts.terminated[-1] or rollouts.truncated[-1]  # whole episodes only

    def ranked_episodes(cand: str) -> int:
        detail = json.loads((finished_run / cand / "critic.json").read_text())["ranking"]
        return int(re.search(r"on (\d+) episodes", detail).group(1))

    random_only = ranked_episodes("iter_0/cand_0")
    with_rollouts = ranked_episodes("iter_1/cand_0")
    assert with_rollouts > random_only
    events = [json.loads(line) for line in (finished_run / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "trajectory_pool" and e["rollouts"] == 2 for e in events)


@pytest.mark.slow
def test_rejections_keep_their_reasons(finished_run: Path) -> None:
    syntax = json.loads((finished_run / "iter_0/cand_0/critic.json").read_text())
    assert syntax["accepted"] is True
    assert "SyntaxError" in syntax["attempts"][0]["problems"][0]
    nan = json.loads((finished_run / "iter_0/cand_1/critic.json").read_text())
    assert "NaN or infinite" in nan["attempts"][0]["problems"][0]
    rejected = json.loads((finished_run / "iter_0/cand_2/critic.json").read_text())
    assert rejected["accepted"] is False
    assert "must have shape" in rejected["attempts"][0]["problems"][0]
    assert "import of 'os' is not allowed" in rejected["problems"][0]
    assert not (finished_run / "iter_0/cand_2/metrics.json").exists()


@pytest.mark.slow
def test_every_llm_call_is_recorded_and_repairs_carry_the_error(finished_run: Path) -> None:
    calls = [json.loads(p.read_text()) for p in sorted((finished_run / "llm").glob("*.json"))]
    assert len(calls) == 9  # 3 + 3 repairs in generation 0, 3 in generation 1
    repair = next(c for c in calls if c["purpose"] == "i0-c0:repair1")
    assert "SyntaxError" in repair["messages"][-1]["content"]
    assert repair["messages"][-2]["role"] == "assistant"
    reflection = next(c for c in calls if c["purpose"] == "i1-c0:design")
    assert "task_score" in reflection["messages"][-1]["content"]


@pytest.mark.slow
def test_events_are_json_lines_in_order(finished_run: Path) -> None:
    events = [json.loads(line) for line in (finished_run / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("generation_started") == 2
    assert "repair_sent" in kinds and "critic_verdict" in kinds and "candidate_trained" in kinds


@pytest.mark.slow
def test_exhausted_script_fails_cleanly_and_keeps_finished_work(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(small_cartpole(tmp_path)), "--model", f"scripted:{SCRIPTED}",
                                      "--iterations", "3", "--samples", "3", "--sandbox", sandbox_name,
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 1
    assert "replies" in result.output and "used up" in result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed"
    assert len(run["iterations"]) == 2
    assert (run_dir / "iter_1/cand_2/metrics.json").is_file()
