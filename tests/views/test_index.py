"""The runs index: update from a run directory, refresh, reindex, filters, and `eureka runs`.
Fast: on copies of a stored run (tests/data/run_dirs), nothing trains."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli
from eureka.views.index import RunIndex, update_index

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "tests" / "data" / "run_dirs" / "format1" / "20261202-053845-cartpole-f6c7"
TRAINED = ("iter_0/cand_0", "iter_0/cand_1", "iter_1/cand_0", "iter_1/cand_1", "iter_1/cand_2")
WIDE = {"COLUMNS": "200"}  # rich folds long run ids at 80 columns


def run_cli(args: list, env: dict | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A copy of a stored real scripted run (two generations: i0-c2 rejected, the other five trained)."""
    return Path(shutil.copytree(STORED, tmp_path_factory.mktemp("index-run") / STORED.name))


def copy_run(source: Path, runs: Path, name: str, **run_json: object) -> Path:
    """A copy of a real run under another id, with some run.json fields replaced."""
    target = runs / name
    shutil.copytree(source, target)
    data = json.loads((target / "run.json").read_text())
    for key, value in run_json.items():
        if key == "task_name":
            data["task"]["name"] = value
        else:
            data[key] = value
    (target / "run.json").write_text(json.dumps(data))
    return target


def set_fitness(run_dir: Path, candidate_dir: str, fitness: float) -> None:
    path = run_dir / candidate_dir / "candidate.json"
    record = json.loads(path.read_text())
    record["fitness"] = fitness
    path.write_text(json.dumps(record))


def test_update_from_run_dir_records_the_run_and_its_candidates(real_run: Path, tmp_path: Path) -> None:
    run = json.loads((real_run / "run.json").read_text())
    with RunIndex(tmp_path / "index.sqlite") as index:
        info = index.update_from_run_dir(real_run)
        assert info.problems == []
        row = index.run(real_run.name)
        assert row is not None
        assert (row.task, row.model, row.status) == ("cartpole", run["model"], "finished")
        assert (row.best_candidate, row.best_fitness) == (run["best"]["candidate"], run["best"]["fitness"])
        assert (row.iterations, row.candidates, row.trained) == (2, 6, 5)
        assert row.path == str(real_run.resolve())
        assert row.cost_usd == 0.0 and row.tokens > 0
        assert row.started is not None and row.started.startswith(real_run.name[:4])
        candidates = {c.candidate_id: c for c in index.candidates(real_run.name)}
        assert sorted(candidates) == ["i0-c0", "i0-c1", "i0-c2", "i1-c0", "i1-c1", "i1-c2"]
        assert candidates["i0-c2"].status == "rejected" and candidates["i0-c2"].fitness is None
        assert "import of 'os' is not allowed" in candidates["i0-c2"].problems[0]
        for cid in ("i0-c0", "i0-c1"):
            recorded = json.loads((real_run / candidates[cid].path / "candidate.json").read_text())
            assert candidates[cid].fitness == recorded["fitness"]
            assert candidates[cid].parent_id is None and candidates[cid].iteration == 0
        # upsert: indexing again replaces, never duplicates
        index.update_from_run_dir(real_run)
        assert len(index.candidates(real_run.name)) == 6
        assert [r.run_id for r in index.runs()] == [real_run.name]


def test_filters_and_best_first_order(real_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    plain = copy_run(real_run, runs, "a-plain")
    strong = copy_run(real_run, runs, "b-strong", status="stopped")
    set_fitness(strong, "iter_0/cand_0", 10_000.0)
    set_fitness(strong, "iter_0/cand_1", 10_000.0)
    other = copy_run(real_run, runs, "c-other", task_name="pole")
    with RunIndex(runs / "index.sqlite") as index:
        report = index.reindex(runs)
        assert sorted(report.indexed) == ["a-plain", "b-strong", "c-other"] and report.problems == []
        ordered = index.runs()
        assert ordered[0].run_id == "b-strong" and ordered[0].best_fitness == 10_000.0
        # run.json names the best; its candidate.json holds the fitness
        assert ordered[0].best_candidate == json.loads((real_run / "run.json").read_text())["best"]["candidate"]
        assert [r.run_id for r in index.runs(task="pole")] == ["c-other"]
        assert [r.run_id for r in index.runs(status="stopped")] == ["b-strong"]
        assert sorted(r.run_id for r in index.runs(task="cartpole", status="finished")) == ["a-plain"]
        assert index.runs(task="nope") == []
        assert [c.candidate_id for c in index.candidates(status="rejected")] == ["i0-c2"] * 3
    assert plain.is_dir() and other.is_dir()


def test_minimized_fitness_sorts_lowest_first(real_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    for name, fitness in (("low", 5.0), ("high", 50.0)):
        run = copy_run(real_run, runs, name, best=None)
        data = json.loads((run / "run.json").read_text())
        data["task"]["fitness"]["direction"] = "minimize"
        (run / "run.json").write_text(json.dumps(data))
        for offset, candidate_dir in enumerate(TRAINED):
            set_fitness(run, candidate_dir, fitness + offset)
    with RunIndex(runs / "index.sqlite") as index:
        index.reindex(runs)
        assert [(r.run_id, r.best_fitness) for r in index.runs()] == [("low", 5.0), ("high", 50.0)]


def test_refresh_picks_up_new_changed_and_removed_runs(real_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    first = copy_run(real_run, runs, "first")
    with RunIndex(runs / "index.sqlite") as index:
        assert index.refresh(runs).indexed == ["first"]
        second = copy_run(real_run, runs, "second")
        report = index.refresh(runs)
        assert (report.indexed, report.unchanged) == (["second"], 1)
        data = json.loads((second / "run.json").read_text())
        data["status"] = "failed"
        (second / "run.json").write_text(json.dumps(data) + "\n")
        assert index.refresh(runs).indexed == ["second"]
        assert index.run("second").status == "failed"
        shutil.rmtree(first)
        report = index.refresh(runs)
        assert report.removed == ["first"]
        assert [r.run_id for r in index.runs()] == ["second"]


def test_a_corrupted_run_is_reported_by_name_and_the_others_are_indexed(real_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    copy_run(real_run, runs, "good")
    broken = copy_run(real_run, runs, "broken")
    (broken / "run.json").write_text('{"format_version": 1, "task": {"na')  # torn write
    torn = copy_run(real_run, runs, "torn-candidate")
    (torn / "iter_0/cand_1/candidate.json").write_text("{")
    result = run_cli(["runs", "--runs-dir", runs, "--reindex"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert f"{broken / 'run.json'}: corrupted JSON" in " ".join(result.output.split())
    assert str(torn / "iter_0/cand_1/candidate.json") in " ".join(result.output.split())
    assert "good" in result.output and "torn-candidate" in result.output
    with RunIndex(runs / "index.sqlite") as index:
        assert sorted(r.run_id for r in index.runs()) == ["good", "torn-candidate"]
        assert len(index.candidates("torn-candidate")) == 5  # the unreadable one is skipped
        assert index.run("torn-candidate").problems


def test_runs_command_lists_best_first_and_filters(real_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    copy_run(real_run, runs, "r-plain")
    strong = copy_run(real_run, runs, "r-strong")
    set_fitness(strong, "iter_0/cand_0", 10_000.0)
    set_fitness(strong, "iter_0/cand_1", 10_000.0)
    copy_run(real_run, runs, "r-pole", task_name="pole")
    listed = run_cli(["runs", "--runs-dir", runs], env=WIDE)  # no index yet: built from the files
    assert listed.exit_code == 0, listed.output
    assert listed.output.index("r-strong") < listed.output.index("r-plain")
    assert "10000" in listed.output
    only_pole = run_cli(["runs", "--runs-dir", runs, "--task", "pole"], env=WIDE)
    assert "r-pole" in only_pole.output and "r-plain" not in only_pole.output
    none = run_cli(["runs", "--runs-dir", runs, "--status", "running"], env=WIDE)
    assert none.exit_code == 0 and "no runs match" in none.output
    missing = run_cli(["runs", "--runs-dir", tmp_path / "nowhere"])
    assert missing.exit_code == 2 and "no such runs directory" in missing.output


def test_update_index_never_raises(tmp_path: Path) -> None:
    problems = update_index(tmp_path / "runs" / "gone")
    assert len(problems) == 1 and "no such run directory" in problems[0]


def test_an_index_of_another_schema_is_rebuilt(real_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    with RunIndex(path) as index:
        index.update_from_run_dir(real_run)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    with RunIndex(path) as index:
        assert index.runs() == []  # dropped: a cache, rebuilt from the files
        index.update_from_run_dir(real_run)
        assert len(index.runs()) == 1
