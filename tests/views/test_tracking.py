"""Experiment tracking (--log tensorboard|mlflow): what TensorBoard's and MLflow's own readers find
equals what the run directory records, a resumed run logs nothing twice, a failing tracker never
ends a run. The fast tests drive the trackers with a copy of a stored real run (nothing trains);
the slow one runs, kills and resumes a real scripted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eureka.cli import cli
from eureka.rundir.records import EventKind
from eureka.rundir.store import RunStore
from eureka.training.base import Checkpoint, MemberResult, TrainOutcome
from eureka.views.tracking import TrackingUnavailable, attach, require
from eureka.views.tracking.curves import outcome_series
from tests.helpers import require as require_module
from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "tests" / "data" / "run_dirs" / "format1" / "20261202-053845-cartpole-f6c7"
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"
Series = dict[str, list[tuple[int, float]]]


@pytest.fixture(autouse=True)
def _libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    require_module("tensorboard", "tensorboard (the reader of event files)")
    require_module("tensorboardX", "tensorboardX")
    require_module("mlflow", "mlflow-skinny")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


# -- what the records say ---------------------------------------------------------------------
def recorded_series(location: Path) -> Series:
    """A single-seed candidate's curves straight from its metrics.json (a baseline's: baselines/NAME.json)."""
    data = json.loads((location / "metrics.json" if location.is_dir() else location).read_text())
    outcome = data["outcome"] if location.is_dir() else data
    (member,) = outcome["members"]
    series: Series = defaultdict(list)
    for point in member["checkpoints"]:
        values = {"fitness": point["fitness"], "reward_mean": point["reward_mean"],
                  "episode_length": point["episode_length"],
                  **{f"components/{name}": value for name, value in point["components"].items()}}
        for name, value in values.items():
            if value is not None:
                series[name].append((point["step"], value))
    last = max([member["env_steps"], *(p["step"] for p in member["checkpoints"])])
    series["final_fitness"] = [(last, data["fitness"] if location.is_dir() else member["fitness"])]
    return dict(series)


def trained(run_dir: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(run_dir.glob("iter_*/cand_*/candidate.json")):
        record = json.loads(path.read_text())
        if record["status"] in ("trained", "failed"):
            found[record["id"]] = path.parent
    for path in sorted(run_dir.glob("baselines/*.json")):
        found[f"baseline-{path.stem}"] = path
    return found


def recorded_generations(run_dir: Path) -> Series:
    rows = json.loads((run_dir / "run.json").read_text())["iterations"]
    best, so_far = [], []
    for row in rows:
        if row["best_fitness"] is not None:
            best.append((row["iteration"], row["best_fitness"]))
            so_far.append((row["iteration"], max(v for _, v in best)))
    return {"best_fitness": best, "best_fitness_so_far": so_far,
            "candidates": [(row["iteration"], row["candidates"]) for row in rows],
            "accepted": [(row["iteration"], row["accepted"]) for row in rows]}


# -- what the trackers show, read with their own readers --------------------------------------
def tensorboard_series(folder: Path) -> Series:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def mlflow_runs(run_dir: Path, uri: str | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """The MLflow client, the parent run and the candidates' runs by name."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri or f"sqlite:///{run_dir.resolve() / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("eureka-cartpole")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} <= {parent.info.run_id}
    by_name = {r.info.run_name: r for r in children}
    assert len(by_name) == len(children), "a candidate was logged twice"
    return client, parent, by_name


def mlflow_series(client: Any, run: Any) -> Series:
    return {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
            for key in run.data.metrics}


def assert_same(shown: Series, recorded: Series, where: str) -> None:
    assert sorted(shown) == sorted(recorded), where
    for name, points in recorded.items():
        assert [step for step, _ in shown[name]] == [step for step, _ in points], f"{where}: {name} steps"
        assert [value for _, value in shown[name]] == pytest.approx([v for _, v in points], rel=1e-6), \
            f"{where}: {name}"


def assert_trackers_match_records(run_dir: Path, status: str = "FINISHED") -> None:
    candidates = trained(run_dir)
    assert candidates
    for candidate, location in candidates.items():
        assert_same(tensorboard_series(run_dir / "tensorboard" / candidate), recorded_series(location), candidate)
    assert_same(tensorboard_series(run_dir / "tensorboard" / "run"), recorded_generations(run_dir), "tensorboard run")
    assert sorted(p.name for p in (run_dir / "tensorboard").iterdir()) == sorted([*candidates, "run"])

    client, parent, children = mlflow_runs(run_dir)
    run = json.loads((run_dir / "run.json").read_text())
    assert parent.info.run_name == run["run_id"] and parent.info.status == status
    assert parent.data.params["model"] == run["model"]
    assert_same(mlflow_series(client, parent), recorded_generations(run_dir), "mlflow parent")
    assert sorted(children) == sorted(candidates)
    for candidate, location in candidates.items():
        child = children[candidate]
        assert_same(mlflow_series(client, child), recorded_series(location), f"mlflow {candidate}")
        if location.is_dir():
            record = json.loads((location / "candidate.json").read_text())
            assert child.data.params["generation"] == str(record["iteration"])
            assert child.data.params["parent"] == (record["parent_id"] or "-")
            assert child.data.params["designer"] == "llm"
            assert child.info.status == ("FINISHED" if record["status"] == "trained" else "FAILED")
        else:
            assert child.data.params["designer"] == "baseline"


# -- driving the trackers as a run's listener ---------------------------------------------------
@pytest.fixture
def stored_run(tmp_path: Path) -> Path:
    """A copy of a stored real scripted run: 2 generations, 5 trained candidates, finished."""
    return Path(shutil.copytree(STORED, tmp_path / "runs" / STORED.name))


def emit(run_dir: Path, listener: Any, kind: EventKind, **data: Any) -> None:
    """As the loop does: a line of events.jsonl, then the listener."""
    RunStore(run_dir).event(kind, **data)
    listener(kind, data)


def session(run_dir: Path, kinds: list[str], listener: Any = None) -> Any:
    tracking = attach(kinds, run_dir, listener, RunStore(run_dir).event)
    emit(run_dir, tracking, EventKind.RUN_STARTED, run_id=run_dir.name)
    return tracking


def test_trackers_added_to_a_finished_run_show_exactly_its_records(stored_run: Path) -> None:
    seen: list[str] = []
    tracking = session(stored_run, ["tensorboard", "mlflow"], lambda kind, data: seen.append(kind))
    emit(stored_run, tracking, EventKind.RUN_FINISHED, best="i0-c1")
    assert seen == [EventKind.RUN_STARTED, EventKind.RUN_FINISHED]  # the run's own listener still hears all
    assert_trackers_match_records(stored_run)
    ledger = json.loads((stored_run / "tracking" / "mlflow.json").read_text())
    assert sorted(ledger["candidates"]) == sorted(trained(stored_run)) and ledger["generations"] == [0, 1]


def test_a_resumed_run_logs_every_candidate_and_generation_once(stored_run: Path) -> None:
    run_file = stored_run / "run.json"
    finished = json.loads(run_file.read_text())
    killed = {**finished, "status": "running", "iterations": finished["iterations"][:1]}
    run_file.write_text(json.dumps(killed))
    session(stored_run, ["tensorboard", "mlflow"])  # generation 0 is logged, then the process is killed

    resumed = session(stored_run, ["tensorboard", "mlflow"])  # `eureka resume`: generation 0 again in run.json
    emit(stored_run, resumed, EventKind.GENERATION_FINISHED, **finished["iterations"][1])
    run_file.write_text(json.dumps(finished))
    emit(stored_run, resumed, EventKind.RUN_FINISHED, best="i0-c1")
    again = session(stored_run, ["tensorboard", "mlflow"])  # `eureka refine` reopens a finished run
    emit(stored_run, again, EventKind.RUN_FINISHED, best="i0-c1")

    assert_trackers_match_records(stored_run)  # no step twice, one MLflow run per candidate, one parent


def test_a_failing_tracker_is_dropped_with_a_warning_and_the_others_go_on(
        stored_run: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")  # a folder that cannot exist
    heard: list[tuple[str, dict]] = []
    tracking = session(stored_run, ["mlflow", "tensorboard"], lambda kind, data: heard.append((kind, data)))
    emit(stored_run, tracking, EventKind.RUN_FINISHED, best="i0-c1")

    (warning,) = [data for kind, data in heard if kind == EventKind.TRACKING_FAILED]
    assert warning["tracker"] == "mlflow" and "the run goes on without it" in warning["error"]
    events = [json.loads(line) for line in (stored_run / "events.jsonl").read_text().splitlines()]
    assert [e["tracker"] for e in events if e["event"] == "tracking_failed"] == ["mlflow"]
    assert_same(tensorboard_series(stored_run / "tensorboard" / "run"), recorded_generations(stored_run), "run")


def test_mlflow_writes_to_the_tracking_uri_of_the_environment(stored_run: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    emit(stored_run, session(stored_run, ["mlflow"]), EventKind.RUN_FINISHED, best="i0-c1")
    assert not (stored_run / "mlflow.db").exists()
    client, parent, children = mlflow_runs(stored_run, uri)
    assert parent.data.tags["eureka.run_dir"] == str(stored_run.resolve())
    assert sorted(children) == sorted(trained(stored_run))
    assert uri not in (stored_run / "tracking" / "mlflow.json").read_text()  # a server URI may hold a password


def test_a_candidates_curve_is_the_mean_over_its_seeds_at_each_step() -> None:
    def member(seed: int, fitness: list[float | None], status: str = "ok") -> MemberResult:
        points = [Checkpoint(step=100 * (i + 1), fitness=f, reward_mean=1.0, components={"alive": float(seed)})
                  for i, f in enumerate(fitness)]
        return MemberResult(seed=seed, status=status, fitness=fitness[-1], checkpoints=points, env_steps=200)

    series = outcome_series(TrainOutcome(candidate_id="i0-c0", members=[
        member(0, [10.0, 20.0]), member(1, [30.0, None]), member(2, [99.0, 99.0], status="failed")]))
    assert series["fitness"] == [(100, 20.0), (200, 20.0)]  # the failed seed left out, a missing value skipped
    assert series["components/alive"] == [(100, 0.5), (200, 0.5)]
    assert series["fitness_per_seed/seed_1"] == [(100, 30.0)]


def test_a_component_name_becomes_a_safe_series_name() -> None:
    outcome = TrainOutcome(candidate_id="i0-c0", members=[MemberResult(seed=0, status="ok", checkpoints=[
        Checkpoint(step=1, fitness=1.0, reward_mean=1.0, components={"../up right/(cos)": 1.0})])])
    assert "components/_up_right__cos_" in outcome_series(outcome)  # no "..", no "/", no spaces


@pytest.mark.parametrize("command", [["run", "task.yaml"], ["resume", "runs/x"], ["bench", "cartpole"]])
def test_an_unknown_tracker_is_refused_naming_the_option(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--log", "foo"])
    assert result.exit_code == 2
    assert "--log" in result.output and "foo" in result.output
    both = CliRunner().invoke(cli, [*command, "--log", "none", "--log", "mlflow"])
    assert both.exit_code == 2 and "--log none" in both.output


def test_a_missing_tracker_package_names_the_install_command(stored_run: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if mlflow were not installed
    with pytest.raises(TrackingUnavailable, match=r"pip install 'eureka\[mlflow\]'"):
        require(["mlflow"])
    run_file = stored_run / "run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "status": "stopped"}))
    result = CliRunner().invoke(cli, ["resume", str(stored_run), "--log", "mlflow"])
    assert result.exit_code == 2
    assert "pip install 'eureka[mlflow]'" in result.output
    assert not (stored_run / "tracking").exists()


# -- a real run, killed and resumed ---------------------------------------------------------------
def events_of(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    out = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_killed_and_resumed_run_shows_its_records_once(tmp_path: Path, sandbox_name: str) -> None:
    task = small_task(tmp_path, timesteps=2048,
                      baselines={"human": str(ROOT / "tasks" / "rewards" / "numpy" / "cartpole_human.py")})
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "eureka", "run", str(task), "--model", f"scripted:{SCRIPTED}",
               "--iterations", "2", "--samples", "2", "--with-baselines", "--sandbox", sandbox_name,
               "--runs-dir", str(runs), "--log", "tensorboard", "--log", "mlflow"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline, run_dir = time.monotonic() + 250, None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(runs.glob("*-cartpole-*")) if runs.is_dir() else []
        if found and any(e["event"] == "generation_started" and e["iteration"] == 1 for e in events_of(found[0])):
            run_dir = found[0]
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, "the second generation never started"
    assert json.loads((run_dir / "tracking" / "tensorboard.json").read_text())["generations"] == [0]

    resumed = subprocess.run([sys.executable, "-m", "eureka", "resume", str(run_dir)],
                             capture_output=True, text=True, timeout=250)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "baseline-human" in trained(run_dir)
    assert_trackers_match_records(run_dir)
    assert not [e for e in events_of(run_dir) if e["event"] == "tracking_failed"]
