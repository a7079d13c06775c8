"""Kill a real `eureka run` with SIGKILL at fixed points, then `eureka resume` it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"


def task_file(tmp_path: Path) -> Path:
    return small_task(tmp_path, timesteps=6000)


def events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def eureka(*args: str) -> list[str]:
    return [sys.executable, "-m", "eureka", *args]


KillPoint = Callable[[list[dict]], bool]
KILL_POINTS: dict[str, KillPoint] = {
    "during generation": lambda ev: sum(e["event"] == "llm_reply" for e in ev) >= 2,
    "during training": lambda ev: any(e["event"] == "training_started" for e in ev),
    "after a trained candidate": lambda ev: any(e["event"] == "candidate_trained" for e in ev),
    "in the second generation": lambda ev: any(e["event"] == "generation_started" and e["iteration"] == 1
                                               for e in ev),
}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_then_resume_loses_nothing(tmp_path: Path, sandbox_name: str, point: str) -> None:
    runs = tmp_path / "runs"
    proc = subprocess.Popen(eureka("run", str(task_file(tmp_path)), "--model", f"scripted:{SCRIPTED}",
                                   "--iterations", "2", "--samples", "3", "--sandbox", sandbox_name,
                                   "--runs-dir", str(runs)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 200
    run_dir = None
    while time.monotonic() < deadline and proc.poll() is None:
        run_dirs = list(runs.glob("*-cartpole-*")) if runs.is_dir() else []
        if run_dirs and KILL_POINTS[point](events(run_dirs[0])):
            run_dir = run_dirs[0]
            break
        time.sleep(0.05)
    if point == "during training":
        time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, "the kill point was never reached"
    before = {p.parent.name + "/" + p.parent.parent.name: p.read_text()
              for p in run_dir.glob("iter_*/cand_*/metrics.json")}
    llm_before = len(list((run_dir / "llm").glob("*.json")))

    resumed = subprocess.run(eureka("resume", str(run_dir)), capture_output=True, text=True, timeout=250)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished"
    assert [it["accepted"] for it in run["iterations"]] == [2, 3]
    after = {p.parent.name + "/" + p.parent.parent.name: p.read_text()
             for p in run_dir.glob("iter_*/cand_*/metrics.json")}
    assert len(after) == 5
    for name, text in before.items():
        assert after[name] == text, f"{name} was re-trained"
    resumed_events = events(run_dir)
    start = max(i for i, e in enumerate(resumed_events) if e["event"] == "run_started")
    retrained = [e["candidate"] for e in resumed_events[start:] if e["event"] == "candidate_trained"]
    assert len(retrained) == 5 - len(before)
    # every LLM reply recorded before the kill was reused, not asked for again
    assert len(list((run_dir / "llm").glob("*.json"))) == 9
    assert llm_before <= 9


@pytest.mark.slow
def test_resuming_a_finished_run_changes_nothing(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    subprocess.run(eureka("run", str(task_file(tmp_path)), "--model", f"scripted:{SCRIPTED}", "--iterations", "1",
                          "--samples", "2", "--sandbox", sandbox_name, "--runs-dir", str(runs)),
                   check=True, capture_output=True, timeout=200)
    (run_dir,) = runs.glob("*-cartpole-*")
    snapshot = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    result = subprocess.run(eureka("resume", str(run_dir)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "finished; nothing to resume" in result.stdout
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == snapshot


def test_corrupted_files_give_clear_errors(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "broken"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text('{"format_version": 1, "status": "runn')
    result = subprocess.run(eureka("resume", str(run_dir)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "run.json: corrupted JSON" in result.stderr
    assert "Traceback" not in result.stderr
    (run_dir / "run.json").write_text('{"format_version": 99, "status": "running"}')
    result = subprocess.run(eureka("resume", str(run_dir)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "format 99" in result.stderr
    result = subprocess.run(eureka("resume", str(tmp_path / "nowhere")), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no such run directory" in result.stderr
