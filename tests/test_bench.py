"""`eureka bench` end to end with a scripted model: the table, bench.json, a plot per task,
fresh seeds, and a second run that reads finished work back instead of redoing it."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.bench import fresh_seeds, normalized_scores, resolve_tasks
from eureka.cli import cli
from eureka.task import load_task

from .helpers import ROOT, require, small_task

SCRIPTED = ROOT / "tests" / "data" / "scripted" / "bench_cartpole"
NUMPY_REWARDS = ROOT / "tasks" / "rewards" / "numpy"


def bench_task(tmp_path: Path) -> Path:
    path = small_task(tmp_path, timesteps=2048, baselines={
        "human": str(NUMPY_REWARDS / "cartpole_human.py"), "sparse": str(NUMPY_REWARDS / "cartpole_sparse.py")})
    data = yaml.safe_load(path.read_text())
    data["search"] = {"iterations": 1, "samples": 1}
    path.write_text(yaml.safe_dump(data))
    return path


def run_bench(task: Path, out: Path, sandbox: str):
    return CliRunner().invoke(cli, ["bench", str(task), "--model", f"scripted:{SCRIPTED}", "--seeds", "2",
                                    "--out", str(out), "--sandbox", sandbox], catch_exceptions=False)


@pytest.fixture(scope="module")
def benched(tmp_path_factory, sandbox_name: str) -> tuple[Path, Path, str]:
    tmp_path = tmp_path_factory.mktemp("bench")
    task, out = bench_task(tmp_path), tmp_path / "out"
    result = run_bench(task, out, sandbox_name)
    assert result.exit_code == 0, result.output
    return task, out, result.output


@pytest.mark.slow
def test_bench_writes_the_table_json_and_a_plot(benched):
    task, out, output = benched
    assert "eureka bench" in output and "cartpole" in output and "score >= 1 on" in output
    bench = json.loads((out / "bench.json").read_text())
    (result,) = bench["tasks"]
    assert result["seeds"] == fresh_seeds(load_task(task), 2) == [1000, 1001]
    assert set(result["rewards"]) == {"best", "human", "sparse"}
    for reward in result["rewards"].values():
        assert len(reward["fitness_per_seed"]) == 2 and all(f is not None for f in reward["fitness_per_seed"])
        assert reward["env_steps"] >= 2 * 2048 and reward["curve"]["steps"]
    assert result["search"]["calls"] == 1 and result["search"]["tokens"] > 0 and result["search"]["env_steps"] > 0
    assert result["score"] is None or math.isfinite(result["score"])
    assert bench["summary"]["tasks"] == 1
    require("matplotlib", "matplotlib (the bench extra)")
    assert (out / "cartpole.png").stat().st_size > 1000
    markdown = (out / "bench.md").read_text()
    assert markdown.startswith("| task |") and f"| {result['task']} | {result['backend']} |" in markdown
    assert "median" in markdown


@pytest.mark.slow
def test_a_second_bench_reads_finished_work_back(benched, sandbox_name: str):
    task, out, _ = benched
    before = json.loads((out / "bench.json").read_text())
    again = run_bench(task, out, sandbox_name)
    assert again.exit_code == 0 and "done before" in again.output
    assert json.loads((out / "bench.json").read_text())["tasks"] == before["tasks"]
    # Killed after its search stopped: the search is resumed (nothing redone), the final training redone.
    (out / "cartpole" / "result.json").unlink()
    (run_json,) = (out / "cartpole" / "runs").glob("*/run.json")
    run_json.write_text(json.dumps({**json.loads(run_json.read_text()), "status": "stopped"}))
    redo = run_bench(task, out, sandbox_name)
    assert redo.exit_code == 0 and "resuming the search" in redo.output
    assert json.loads(run_json.read_text())["status"] == "finished"
    assert len(list((out / "cartpole" / "runs").glob("*/run.json"))) == 1
    after = json.loads((out / "bench.json").read_text())["tasks"][0]
    for name, reward in after["rewards"].items():
        expected = before["tasks"][0]["rewards"][name]["fitness_per_seed"]
        assert reward["fitness_per_seed"] == pytest.approx(expected, abs=1e-6), name


def test_the_human_normalized_score():
    score, spread, per_seed = normalized_scores([30.0, 50.0], [40.0, 40.0], [20.0, 20.0])
    assert score == pytest.approx(1.0) and per_seed == pytest.approx([0.5, 1.5])
    assert spread == pytest.approx(0.7071, 1e-3)
    # a fitness to minimise: fewer is better, so beating the human reward is still > 1
    assert normalized_scores([5.0], [10.0], [20.0], "minimize")[0] == pytest.approx(1.5)
    assert normalized_scores([5.0], [10.0], [10.0])[0] is None  # human = sparse: no scale
    assert normalized_scores([None], [10.0], [0.0])[0] is None


def test_the_summary_gives_the_median_beside_the_mean_and_a_markdown_table():
    from eureka.bench import BenchResult, Curve, RewardResult, SearchUsage, TaskResult, summarize
    from eureka.views.bench import markdown_table

    def task(name: str, score: float | None) -> TaskResult:
        reward = RewardResult(fitness_per_seed=[1.0], mean=1.0, std=0.0, curve=Curve(steps=[], fitness=[]), env_steps=1)
        return TaskResult(task=name, backend="jax", metric="return", direction="maximize", seeds=[1000],
                          search=SearchUsage(), rewards={"best": reward, "human": reward, "sparse": reward},
                          score=score, score_spread=0.0, score_per_seed=[score], wall_s=120.0)

    tasks = [task("a", 1.0), task("b", 0.8), task("c", -20.0), task("d", None)]
    summary = summarize(tasks)
    assert (summary.scored, summary.share_at_least_human) == (3, pytest.approx(1 / 3))
    assert summary.median_score == pytest.approx(0.8) and summary.mean_score == pytest.approx(-6.0667, 1e-3)
    table = markdown_table(BenchResult(model="local", budget="small", seeds=1, tasks=tasks, summary=summary))
    assert "| c | jax | return |" in table and "-20.00" in table and "n/a (human = sparse)" in table
    assert "median 0.80" in table


def test_tasks_come_from_names_paths_and_suites(tmp_path):
    cpu = resolve_tasks([], "cpu")
    assert [p.stem for p in cpu][:2] == ["cartpole", "pendulum"] and len(cpu) >= 8
    assert resolve_tasks(["acrobot"], None) == [ROOT / "tasks" / "acrobot.yaml"]
    result = CliRunner().invoke(cli, ["bench", "--tasks", "nope"])
    assert result.exit_code == 2 and "no such suite" in result.output
    result = CliRunner().invoke(cli, ["bench", "no_such_task"])
    assert result.exit_code == 2 and "not a task file" in result.output


@pytest.mark.slow
def test_the_baselines_of_a_task_with_its_own_env_module_train(tmp_path: Path, sandbox_name: str):
    """The final training sees the task's env module beside the task file, as `eureka run` does."""
    from eureka.bench import Bench, BenchOptions

    data = ROOT / "tests" / "data"
    module = "bench_own_env"  # a name no other test imports: the host keeps imported env modules
    (tmp_path / f"{module}.py").write_text((data / "envs" / "relational.py").read_text())
    (tmp_path / "rewards").mkdir()
    for name in ("human", "sparse"):
        (tmp_path / "rewards" / f"{name}.py").write_text((data / "tasks" / "rewards" / f"point_goal_{name}.py").read_text())
    task = yaml.safe_load((data / "tasks" / "point_goal.yaml").read_text())
    task["env"]["id"] = f"{module}:PointGoalEnv"
    task["baselines"] = {"human": "rewards/human.py", "sparse": "rewards/sparse.py"}
    task["training"].update(timesteps=1024, seeds=[0])
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    try:
        outcomes = Bench(BenchOptions(sandbox=sandbox_name, out=tmp_path / "out")).final_training(load_task(path), None, [3])
    finally:
        sys.modules.pop(module, None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    assert set(outcomes) == {"human", "sparse"}
    for outcome in outcomes.values():
        (member,) = outcome.members
        assert member.status == "ok", member.error
        assert member.fitness is not None
