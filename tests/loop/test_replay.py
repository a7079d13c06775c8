"""Restoring a run: a run directory written by the format-1 code before RunConfig and the
run-directory records (tests/data/rundirs/format1, made by commit 62a0e57) loads for resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eureka.app import open_run
from eureka.rundir.records import Run
from eureka.rundir.store import RunStoreError

ROOT = Path(__file__).resolve().parents[2]
FORMAT1 = ROOT / "tests" / "data" / "rundirs" / "format1"


@pytest.fixture
def old_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)  # the fixture names its scripted replies relative to the repository
    run_dir = tmp_path / FORMAT1.name
    shutil.copytree(FORMAT1, run_dir)
    return run_dir


def test_a_format_1_run_json_is_a_valid_run_record() -> None:
    run = Run.model_validate_json((FORMAT1 / "run.json").read_text())
    assert run.best is not None and run.best.candidate == "i0-c1"
    assert run.iterations[0].accepted == 2


def test_a_format_1_run_restores_for_resume(old_run: Path, sandbox_name: str) -> None:
    search = open_run(old_run, sandbox=sandbox_name)
    recorded = json.loads((old_run / "run.json").read_text())
    assert search.config.model == recorded["model"]
    assert search.config.sandbox == sandbox_name
    assert search.config.iterations == 1 and search.config.samples == 2
    assert [s.model_dump() for s in search.iterations] == recorded["iterations"]
    assert search.selection.elite is not None and search.selection.elite.record.id == "i0-c1"
    assert search.selection.elite.record.fitness == recorded["best"]["fitness"]
    assert sorted(search.database.programs) == ["i0-c0", "i0-c1"]
    assert len(search.context.replay) == recorded["usage"]["calls"]
    assert search.budget.to_json()["tokens"] == recorded["usage"]["tokens"]
    search.write_run_json("finished")  # rewritten in the new shape: the same contents plus settings
    rewritten = json.loads((old_run / "run.json").read_text())
    for key in ("iterations", "islands", "filters", "model"):
        assert rewritten[key] == recorded[key], key
    for key in ("task", "usage", "best"):  # fields added since keep their defaults
        assert _within(recorded[key], rewritten[key]), key
    assert {k: v for k, v in rewritten["settings"].items() if k in recorded["settings"]} == {
        **recorded["settings"], "sandbox": sandbox_name}


def test_a_run_of_another_format_fails_naming_it(old_run: Path) -> None:
    data = json.loads((old_run / "run.json").read_text())
    data["format_version"] = 99
    (old_run / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunStoreError, match="format 99"):
        open_run(old_run)


def test_unreadable_settings_are_named(old_run: Path) -> None:
    data = json.loads((old_run / "run.json").read_text())
    data["settings"]["samples"] = "many"
    (old_run / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunStoreError, match="unreadable run settings"):
        open_run(old_run)


def _within(old, new) -> bool:
    """Every value of `old` is in `new` (new may carry more keys)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and _within(v, new[k]) for k, v in old.items())
    return old == new
