"""`eureka run --executor ray` on a real two-node Ray cluster: the same run directory as a
local run, a lost worker node costs nothing, and a killed head resumes without asking twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import small_task

from .conftest import LocalCluster

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"
RUN = ["--model", f"scripted:{SCRIPTED}", "--iterations", "1", "--samples", "3"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def eureka(*args: str) -> list[str]:
    return [sys.executable, "-m", "eureka", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    out = []
    for line in (path.read_text().splitlines() if path.is_file() else []):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def run_directory(runs: Path, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(runs.glob("*-cartpole-*")) if runs.is_dir() else []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no run directory appeared")


def wait_for(run_dir: Path, kind: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e["event"] == kind for e in events(run_dir)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event (exit code {proc.poll()})")


def structure(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and "llm" not in p.parts}


def candidates(run_dir: Path) -> dict[str, dict]:
    return {p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())
            for p in run_dir.glob("iter_*/cand_*/candidate.json")}


def finished(run_dir: Path) -> dict:
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished", run["status"]
    return run


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> Path:
    return small_task(tmp_path_factory.mktemp("task"), timesteps=2048)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, task: Path, sandbox_name: str) -> Path:
    runs = tmp_path_factory.mktemp("local") / "runs"
    subprocess.run(eureka("run", str(task), *RUN, "--sandbox", sandbox_name, "--runs-dir", str(runs)),
                   env=env(), check=True, capture_output=True, timeout=400)
    return run_directory(runs)


def test_a_ray_run_equals_a_local_run(tmp_path: Path, task: Path, local_run: Path, sandbox_name: str,
                                      ray_cluster: LocalCluster) -> None:
    runs = tmp_path / "runs"
    workers = {ray_cluster.ips[w.pid] for w in ray_cluster.alive_workers()}  # never the head
    done = subprocess.run(eureka("run", str(task), *RUN, "--sandbox", sandbox_name, "--runs-dir", str(runs),
                                 "--executor", "ray", "--ray-address", ray_cluster.address),
                          env=env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    ray_run = run_directory(runs)
    assert finished(ray_run)["settings"]["executor"] == "ray"
    assert structure(ray_run) == structure(local_run)
    local, remote = candidates(local_run), candidates(ray_run)
    assert local.keys() == remote.keys()
    for name, record in local.items():
        other = remote[name]
        assert (record["status"], record["fitness"]) == (other["status"], other["fitness"]), name
        if record["status"] == "trained":
            assert [j["executor"] for j in record["jobs"]] == ["local"]
            (job,) = other["jobs"]
            assert (job["executor"], job["module"]) == ("ray", "eureka.jobs.train")
            assert job["node"] in workers
            assert job["queued_s"] >= 0 and job["ran_s"] > 0
    for policy in local_run.glob("iter_*/cand_*/*.zip"):  # artifacts came back from the worker node
        assert (ray_run / policy.relative_to(local_run)).stat().st_size > 0
    assert "jobs per node: 127.0.0." in done.stderr
    assert {e["node"] for e in events(ray_run) if e["event"] == "job_finished"} == workers


def test_a_lost_worker_node_costs_nothing(tmp_path: Path, local_run: Path, sandbox_name: str,
                                          ray_cluster: LocalCluster) -> None:
    task = small_task(tmp_path, timesteps=8000)  # long enough to be caught mid-training
    runs = tmp_path / "runs"
    proc = subprocess.Popen(eureka("run", str(task), *RUN, "--sandbox", sandbox_name, "--runs-dir", str(runs),
                                   "--executor", "ray", "--ray-address", ray_cluster.address),
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        run_dir = run_directory(runs)
        wait_for(run_dir, "training_submitted", proc)
        time.sleep(4.0)  # the first training job is running on the worker node
        (worker,) = ray_cluster.alive_workers()
        ray_cluster.kill_worker(worker)
        replacement = ray_cluster.ips[ray_cluster.add_worker().pid]  # a replacement machine joins, as an autoscaler would add one
        _, stderr = proc.communicate(timeout=500)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]
    finished(run_dir)
    records = candidates(run_dir)
    assert {n: r["status"] for n, r in records.items()} == {n: r["status"] for n, r in candidates(local_run).items()}
    trained = [r for r in records.values() if r["status"] == "trained"]
    assert trained and all(r["fitness"] is not None for r in trained)
    retried = [r["jobs"][0] for r in trained if r["jobs"][0]["attempts"] > 1]
    assert retried, [r["jobs"] for r in trained]
    for job in retried:
        assert job["node"] == replacement and len(job["lost"]) == job["attempts"] - 1
    assert any(e["event"] == "job_lost" for e in events(run_dir))
    assert len(list((run_dir / "llm").glob("*.json"))) == len(list((local_run / "llm").glob("*.json")))


def test_a_stopped_head_cancels_its_jobs_and_resumes_without_asking_twice(
        tmp_path: Path, task: Path, local_run: Path, sandbox_name: str, ray_cluster: LocalCluster) -> None:
    runs = tmp_path / "runs"
    proc = subprocess.Popen(eureka("run", str(task), *RUN, "--sandbox", sandbox_name, "--runs-dir", str(runs),
                                   "--executor", "ray", "--ray-address", ray_cluster.address),
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    run_dir = run_directory(runs)
    wait_for(run_dir, "training_submitted", proc)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 1  # stopped, not finished
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped"
    cancelled = [e for e in events(run_dir) if e["event"] == "job_failed" and "cancelled" in e["detail"]]
    assert any(e["module"] == "eureka.jobs.train" for e in cancelled)  # the running training was cancelled
    asked_before = len(list((run_dir / "llm").glob("*.json")))

    resumed = subprocess.run(eureka("resume", str(run_dir)), env=env(), capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = finished(run_dir)
    assert run["settings"]["executor"] == "ray"
    purposes = [json.loads(p.read_text())["purpose"] for p in sorted((run_dir / "llm").glob("*.json"))]
    assert len(purposes) == len(set(purposes)), purposes  # no reply asked for twice
    assert len(purposes) == len(list((local_run / "llm").glob("*.json"))) >= asked_before
    records = candidates(run_dir)
    assert {n: (r["status"], r["fitness"]) for n, r in records.items()} == \
        {n: (r["status"], r["fitness"]) for n, r in candidates(local_run).items()}
    assert all(r["jobs"][0]["executor"] == "ray" for r in records.values() if r["status"] == "trained")
