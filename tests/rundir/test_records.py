"""The run-directory records: the files' keys, events by kind, and old files still reading."""

from __future__ import annotations

import json
import re
from pathlib import Path

from eureka.critic.checks import CriticVerdict
from eureka.design.designer import attempt_record, critic_record
from eureka.rundir.records import Candidate, EventKind, Metrics, Run
from eureka.rundir.store import RunStore

PACKAGE = Path(__file__).resolve().parents[2] / "eureka"
FORMAT1 = Path(__file__).resolve().parents[1] / "data" / "rundirs" / "format1"


def test_every_event_the_package_emits_is_a_kind() -> None:
    emitted = set()
    for path in PACKAGE.rglob("*.py"):
        emitted |= set(re.findall(r"EventKind\.([A-Z_]+)", path.read_text()))
    assert emitted and emitted <= set(EventKind.__members__)
    bare = [str(p) for p in PACKAGE.rglob("*.py") if re.search(r"\bemit\(\"", p.read_text())]
    assert bare == []


def test_events_are_json_lines_with_time_and_kind(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "t")
    store.event(EventKind.NEW_BEST, candidate="i0-c0", fitness=float("inf"))
    line = json.loads(store.path("events.jsonl").read_text())
    assert line["event"] == "new_best" and line["candidate"] == "i0-c0" and line["fitness"] is None
    assert list(line)[:2] == ["time", "event"]


def test_critic_json_names_an_edit_only_when_there_is_one() -> None:
    verdict = CriticVerdict("passed", components=["alive"])
    plain = critic_record(verdict, [attempt_record(0, "reply.md", verdict)]).file_data()
    assert list(plain) == ["accepted", "stage", "problems", "components", "ranking", "attempts"]
    assert plain["attempts"][0]["reply"] == "reply.md" and plain["attempts"][0]["accepted"] is True
    assert critic_record(verdict, [], edit="flip").file_data()["edit"] == "flip"


def test_files_of_a_format_1_run_read_as_records() -> None:
    run = Run.model_validate_json((FORMAT1 / "run.json").read_text())
    assert run.format_version == 1 and run.status == "finished"
    for folder in sorted(FORMAT1.glob("iter_*/cand_*")):
        candidate = Candidate.model_validate_json((folder / "candidate.json").read_text())
        metrics = Metrics.model_validate_json((folder / "metrics.json").read_text())
        assert metrics.candidate == candidate.id and metrics.fitness == candidate.fitness
        assert candidate.designer is None  # written before candidates named their designer
    assert run.best is not None and run.best.designer is None
    old = json.loads((FORMAT1 / "run.json").read_text())
    assert _within(old, json.loads(run.model_dump_json()))  # no key lost or renamed (new ones have defaults)


def _within(old, new) -> bool:
    """Every value of `old` is in `new` (new may carry more keys)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and _within(v, new[k]) for k, v in old.items())
    return old == new
