"""The one candidate view (refine, report and web use it): code, curve, attempts, video, elites.
Fast: on a copy of a stored run (tests/data/run_dirs), nothing trains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eureka.rundir.reader import read_run
from eureka.views.candidates import first_curve, load_candidates, rank_elites

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "tests" / "data" / "run_dirs" / "format1" / "20261202-053845-cartpole-f6c7"


@pytest.fixture
def run_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(STORED, tmp_path / STORED.name))


def test_views_carry_record_code_curve_and_attempts() -> None:
    views = {v.id: v for v in load_candidates(read_run(STORED))}
    assert list(views) == ["i0-c0", "i0-c1", "i0-c2", "i1-c0", "i1-c1", "i1-c2"]
    best = views["i0-c1"]
    assert (best.iteration, best.index, best.parent_id, best.directory) == (0, 1, None, "iter_0/cand_1")
    assert best.trained and best.fitness == 53.5 and best.fitness_text == "53.5" and not best.human
    assert best.code == (STORED / "iter_0/cand_1/reward.py").read_text()
    assert best.reflection and best.curve_ok and best.curve_seed == 0
    assert best.checkpoints and all("step" in c for c in best.checkpoints)
    assert [a["attempt"] for a in best.attempts] == [0, 1]  # the first reply was repaired
    summary = best.component_summary()
    assert [part.split()[0] for part in summary.split(", ")] == best.components and "→" in summary
    rejected = views["i0-c2"]
    assert not rejected.trained and rejected.fitness_text == "-" and rejected.checkpoints == []
    assert rejected.component_summary() == "" and rejected.curve_seed is None
    assert views["i1-c0"].parent_id == "i0-c1"


def test_video_when_the_file_is_there_else_why_not(run_copy: Path) -> None:
    (run_copy / "iter_0/cand_1/rollout_seed0.mp4").write_bytes(b"\0")
    (run_copy / "iter_0/cand_1/rollout_seed0.png").write_bytes(b"\0")
    failed = run_copy / "iter_1/cand_0/rollout_seed0.json"
    failed.write_text(json.dumps({"ok": False, "video": None, "error": "no display"}))
    views = {v.id: v for v in load_candidates(read_run(run_copy))}
    shown = views["i0-c1"]
    assert (shown.video, shown.poster, shown.video_error) == (
        "iter_0/cand_1/rollout_seed0.mp4", "iter_0/cand_1/rollout_seed0.png", None)
    assert views["i1-c0"].video is None and views["i1-c0"].video_error == "no display"
    assert views["i0-c0"].video is None and views["i0-c0"].video_error == "no video"  # the mp4 was left out
    assert views["i0-c2"].video is None and views["i0-c2"].video_error is None  # never trained


def test_elites_are_the_best_trained_newer_first_among_equals() -> None:
    views = load_candidates(read_run(STORED))
    assert [v.id for v in rank_elites(views, "maximize", 3)] == ["i0-c1", "i1-c0", "i1-c2"]  # 53.5, 50.5, 47.5
    assert [v.id for v in rank_elites(views, "minimize", 2)] == ["i1-c1", "i1-c2"]  # 47.0, then the newer 47.5
    assert len(rank_elites(views)) == 4


def test_the_curve_shown_is_the_first_successful_seed_with_checkpoints() -> None:
    failed = {"seed": 0, "status": "failed", "checkpoints": [{"step": 1}]}
    empty = {"seed": 1, "status": "ok", "checkpoints": []}
    full = {"seed": 2, "status": "ok", "checkpoints": [{"step": 1}]}
    assert first_curve({"outcome": {"members": [failed, empty, full]}}) is full
    assert first_curve({"outcome": {"members": [failed, empty]}}) is empty
    assert first_curve({"outcome": {"members": [failed]}}) is failed  # a failed seed's partial curve
    assert first_curve(None) is None and first_curve({"outcome": {"members": ["junk"]}}) is None
