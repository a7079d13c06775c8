"""The one reader: a stored run directory of the current format loads; other formats, broken and
missing files are refused or reported by name. Fast: reads tests/data/run_dirs, trains nothing."""

from __future__ import annotations

import json
import shutil
from datetime import timezone
from pathlib import Path

import pytest

from eureka.rundir.reader import finite_number, read_feedback, read_run, read_run_file
from eureka.rundir.store import RUN_FORMAT_VERSION, RunStoreError

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "tests" / "data" / "run_dirs" / "format1" / "20261202-053845-cartpole-f6c7"


@pytest.fixture
def run_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(STORED, tmp_path / STORED.name))


def rewrite(path: Path, **fields: object) -> None:
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def test_a_stored_run_of_format_1_still_loads() -> None:
    """Written by eureka at run format 1 (a real scripted run, binary files left out)."""
    run = read_run(STORED)
    assert (run.run_id, run.status, run.task_name, run.direction) == (STORED.name, "finished", "cartpole", "maximize")
    assert run.model == "scripted:tests/data/scripted/cartpole_numpy"
    assert [c.id for c in run.candidates] == ["i0-c0", "i0-c1", "i0-c2", "i1-c0", "i1-c1", "i1-c2"]
    assert [c.status for c in run.candidates].count("trained") == 5 and run.problems == []
    best = run.best_candidate()
    assert (best.id, best.fitness, run.best_fitness) == ("i0-c1", 53.5, 53.5)
    assert best.designer is None  # written before candidates named their designer
    assert [c.id for c in run.lineage("i1-c2")] == ["i1-c2", "i0-c1"]
    assert run.candidate("i0-c2").fitness is None and "import of 'os'" in run.candidate("i0-c2").problems[0]
    assert run.tokens == 8001 and run.cost_usd == 0.0  # the sum over llm/*.json, as run.json says
    assert run.started is not None and run.started.tzinfo == timezone.utc
    assert len(run.iterations) == 2 and run.versions["gymnasium"]
    metrics = run.metrics(best)
    assert metrics is not None and "reflection" in metrics
    assert run.critic(best)["accepted"] is True
    assert run.rollouts(best)[0]["video"] == "rollout_seed0.mp4"
    assert "def compute_reward" in run.code(best)
    assert run.code(run.candidate("i0-c2")) is not None and read_feedback(STORED) == []


def test_a_future_format_is_refused_naming_the_version(run_copy: Path) -> None:
    rewrite(run_copy / "run.json", format_version=RUN_FORMAT_VERSION + 1)
    message = f"written in run format {RUN_FORMAT_VERSION + 1} by a newer eureka"
    with pytest.raises(RunStoreError, match=message) as raised:
        read_run(run_copy)
    assert str(run_copy / "run.json") in str(raised.value)
    assert f"reads run format {RUN_FORMAT_VERSION}" in str(raised.value)
    with pytest.raises(RunStoreError, match=message):
        read_run_file(run_copy)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"format_version": "one"}, "run format 'one' is unknown"),
    ({"format_version": 0}, "run format 0 is unknown"),
    ({"task": {"id": "x"}}, "not a eureka run file \\(no task\\)"),
])
def test_other_run_files_are_refused_by_name(run_copy: Path, fields: dict, expected: str) -> None:
    rewrite(run_copy / "run.json", **fields)
    with pytest.raises(RunStoreError, match=expected):
        read_run(run_copy)


def test_missing_and_corrupted_run_files(run_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match="no such run directory"):
        read_run(tmp_path / "nope")
    data = json.loads((run_copy / "run.json").read_text())
    del data["format_version"]
    (run_copy / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunStoreError, match="no format_version"):
        read_run(run_copy)
    (run_copy / "run.json").write_text('{"format_version": 1, "ta')
    with pytest.raises(RunStoreError, match="corrupted JSON"):
        read_run(run_copy)
    (run_copy / "run.json").unlink()
    with pytest.raises(RunStoreError, match="file not found"):
        read_run(run_copy)


def test_broken_candidate_files_are_reported_and_the_rest_is_read(run_copy: Path) -> None:
    (run_copy / "iter_1/cand_1/candidate.json").write_text("{")
    (run_copy / "iter_1/cand_2/candidate.json").write_text(json.dumps({"status": "trained"}))
    (run_copy / "iter_0/cand_1/metrics.json").write_text("[1, 2]")
    (run_copy / "iter_0/cand_0/critic.json").write_text("{")
    (run_copy / "llm/0001.json").write_text("{")
    (run_copy / "iter_5").mkdir()
    (run_copy / "iter_5/cand_x").mkdir()
    (run_copy / "iter_5/cand_x/candidate.json").write_text(json.dumps({"id": "stray"}))
    run = read_run(run_copy)
    assert [c.id for c in run.candidates] == ["i0-c0", "i0-c1", "i0-c2", "i1-c0"]
    assert len(run.problems) == 3
    assert any(str(run_copy / "iter_1/cand_1/candidate.json") in p and "corrupted JSON" in p for p in run.problems)
    assert any("not a candidate record (no id)" in p for p in run.problems)
    assert any(str(run_copy / "llm/0001.json") in p for p in run.problems)
    assert run.metrics(run.candidate("i0-c1")) is None and run.critic(run.candidate("i0-c0")) is None


def test_best_falls_back_to_the_best_trained_candidate(run_copy: Path) -> None:
    rewrite(run_copy / "run.json", best=None)
    assert read_run(run_copy).best_candidate().id == "i0-c1"
    data = json.loads((run_copy / "run.json").read_text())
    data["task"]["fitness"]["direction"] = "minimize"
    (run_copy / "run.json").write_text(json.dumps(data))
    assert read_run(run_copy).best_candidate().id == "i1-c1"  # 47.0, the lowest


def test_feedback_rounds_in_order_and_a_person_s_reward(run_copy: Path) -> None:
    (run_copy / "feedback").mkdir()
    for number in (2, 1):
        (run_copy / "feedback" / f"{number:04d}.json").write_text(json.dumps({"round": number}))
    (run_copy / "feedback" / "0003.json").write_text("{")
    (run_copy / "feedback" / "draft_1.py").write_text("x = 1\n")
    assert read_feedback(run_copy) == [{"round": 1}, {"round": 2}]
    (run_copy / "iter_1/cand_0/human.json").write_text("{}")
    assert [c.id for c in read_run(run_copy).candidates if c.human] == ["i1-c0"]


def test_finite_number() -> None:
    assert [finite_number(v) for v in (1, 2.5, True, None, "3", float("nan"), float("inf"))] == [
        1.0, 2.5, None, None, None, None, None]
