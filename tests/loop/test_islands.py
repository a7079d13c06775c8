"""Islands: samples spread over sub-populations with their own parents, and migration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from eureka.cli import cli
from eureka.loop.database import CandidateRecord, ProgramDatabase

from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_islands"


def reply_code(name: str) -> str:
    text = (SCRIPTED / name).read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0].strip()


@pytest.fixture(scope="module")
def island_run(tmp_path_factory, sandbox_name: str) -> Path:
    tmp_path = tmp_path_factory.mktemp("islands")
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(small_task(tmp_path, timesteps=2048)), "--model",
                                      f"scripted:{SCRIPTED}", "--islands", "2", "--iterations", "3",
                                      "--samples", "2", "--sandbox", sandbox_name, "--runs-dir", str(runs)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    (run_dir / "cli_output.txt").write_text(result.output)
    return run_dir


def candidate(run_dir: Path, iteration: int, index: int) -> dict:
    return json.loads((run_dir / f"iter_{iteration}/cand_{index}/candidate.json").read_text())


def design_prompt(run_dir: Path, candidate_id: str) -> str:
    for path in sorted((run_dir / "llm").glob("*.json")):
        call = json.loads(path.read_text())
        if call["purpose"] == f"{candidate_id}:design":
            return call["messages"][-1]["content"]
    raise AssertionError(f"no design call for {candidate_id}")


@pytest.mark.slow
def test_samples_are_spread_over_islands_with_their_own_parents(island_run: Path) -> None:
    run = json.loads((island_run / "run.json").read_text())
    assert run["settings"]["islands"] == 2 and run["settings"]["migration_interval"] == 2
    for iteration in range(3):
        assert [candidate(island_run, iteration, i)["island"] for i in range(2)] == [0, 1]
        assert all(candidate(island_run, iteration, i)["status"] == "trained" for i in range(2))
    # generation 1: each island reflects on its own generation-0 candidate
    assert candidate(island_run, 1, 0)["parent_id"] == "i0-c0"
    assert candidate(island_run, 1, 1)["parent_id"] == "i0-c1"
    by_island = {entry["island"]: entry["best_candidate"] for entry in run["islands"]}
    assert set(by_island) == {0, 1}
    assert by_island[0].endswith("-c0") and by_island[1].endswith("-c1")


@pytest.mark.slow
def test_the_summary_names_each_islands_best(island_run: Path) -> None:
    output = (island_run / "cli_output.txt").read_text()
    line = next(line for line in output.splitlines() if line.startswith("best per island: "))
    bests = {island["island"]: island["best_candidate"]
             for island in json.loads((island_run / "run.json").read_text())["islands"]}
    assert line.startswith(f"best per island: 0: {bests[0]} (") and f", 1: {bests[1]} (" in line


@pytest.mark.slow
def test_the_best_of_each_island_migrates_to_the_next_after_two_generations(island_run: Path) -> None:
    run = json.loads((island_run / "run.json").read_text())
    migrations = run["migrations"]
    assert [(m["after_iteration"], m["from_island"], m["to_island"]) for m in migrations] == [(1, 0, 1), (1, 1, 0)]
    best_of_island0 = migrations[0]["candidate"]
    assert best_of_island0 in {"i0-c0", "i1-c0"}
    migrant_code = (island_run / f"iter_{best_of_island0[1]}/cand_0/reward.py").read_text().strip()
    # before the migration island 1 never saw island 0's rewards; after it, as an elite
    assert migrant_code not in design_prompt(island_run, "i1-c1")
    assert "Other good rewards" not in design_prompt(island_run, "i1-c1")
    after = design_prompt(island_run, "i2-c1")
    assert "Other good rewards" in after and migrant_code in after
    events = [json.loads(line) for line in (island_run / "events.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "migration" for e in events) == 2


@pytest.mark.slow
def test_resume_restores_islands_and_migrations(island_run: Path, sandbox_name: str) -> None:
    from eureka.app import open_run

    search = open_run(island_run, sandbox=sandbox_name)
    run = json.loads((island_run / "run.json").read_text())
    assert search.config.islands == 2
    assert [m.model_dump() for m in search.database.migrations] == run["migrations"]
    assert {i: e.record.id for i, e in search.selection.island_elites.items()} == {
        entry["island"]: entry["best_candidate"] for entry in run["islands"]}
    assert {p.record.island for p in search.database.programs.values()} == {0, 1}
    prompt = search.selection.island_prompt(1, None, [])
    assert prompt.parent == run["islands"][1]["best_candidate"]
    assert reply_code("01_alive_upright.md") in prompt.messages[-1].content or \
        reply_code("03_island0_improved.md") in prompt.messages[-1].content  # island 0's migrant


def test_database_migration_is_a_ring_of_each_islands_best() -> None:
    from eureka.envs.base import Transitions

    empty = Transitions(*(np.zeros((1, 1)),) * 3, np.zeros(1, bool), np.zeros(1, bool), np.zeros(1))
    database = ProgramDatabase(empty, lambda a, b: a is not None and (b is None or a > b))
    for cid, island, fitness in (("a", 0, 1.0), ("b", 0, 3.0), ("c", 1, 2.0), ("d", 2, None)):
        database.add(CandidateRecord(id=cid, iteration=0, index=0, parent_id=None, directory=cid,
                                     status="trained", fitness=fitness, island=island), "")
    moved = database.migrate(after_iteration=1, islands=3)
    assert [(m.candidate, m.from_island, m.to_island) for m in moved] == [("b", 0, 1), ("c", 1, 2)]
    assert [p.record.id for p in database.immigrants(1, 1)] == ["b"]
    assert [p.record.id for p in database.immigrants(2, 1)] == ["c"]
    assert database.immigrants(0, 1) == []
    assert [p.record.id for p in database.elites(2, island=0)] == ["b", "a"]
    assert [p.record.id for p in database.elites(3)] == ["b", "c", "a"]


def test_a_record_without_island_reads_as_island_zero() -> None:
    old = {"id": "i0-c0", "iteration": 0, "index": 0, "parent_id": None, "directory": "iter_0/cand_0",
           "status": "trained"}
    assert CandidateRecord.model_validate(old).island == 0
