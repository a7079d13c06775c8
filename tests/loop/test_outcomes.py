"""What a generation records of its candidates: novelty before training, metrics and records after."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from eureka.config import PROBE_TRANSITIONS
from eureka.critic.checks import CriticVerdict
from eureka.design.designer import Designed
from eureka.envs import sample_transitions
from eureka.loop.database import ProgramDatabase
from eureka.loop.generation import is_novel
from eureka.loop.outcomes import baseline_candidates, finished_outcome, record_training
from eureka.loop.select import Ranking
from eureka.rundir.records import Candidate
from eureka.rundir.store import RunStore
from eureka.task import FitnessSpec, load_task
from eureka.training.base import MemberResult, TrainOutcome
from tests.helpers import GYM_CARTPOLE

CODE = "import numpy as np\n\ndef compute_reward(obs, action, next_obs, terminated):\n    return np.ones(len(obs)), {}\n"


def candidate(cid: str = "i0-c0") -> Candidate:
    return Candidate(id=cid, iteration=0, index=int(cid[-1]), parent_id=None, directory=f"iter_0/cand_{cid[-1]}",
                     status="trained")


def test_a_trained_candidate_gets_its_fitness_metrics_and_reflection(tmp_path: Path) -> None:
    task = load_task(GYM_CARTPOLE)
    store = RunStore.create(tmp_path, "t")
    events: list[str] = []
    record = candidate()
    outcome = TrainOutcome(candidate_id="i0-c0", members=[MemberResult(seed=0, status="ok", fitness=42.0)])
    reflection = record_training(store, lambda kind, /, **data: events.append(kind), task, record, outcome)
    metrics = json.loads(store.path("iter_0/cand_0/metrics.json").read_text())
    assert metrics["fitness"] == 42.0 and metrics["reflection"] == reflection.text
    assert metrics["constant_tuning"] is None
    assert json.loads(store.path("iter_0/cand_0/candidate.json").read_text())["fitness_per_seed"] == [42.0]
    assert events == ["candidate_trained"]
    assert finished_outcome(store, record) == outcome
    assert finished_outcome(store, candidate("i0-c1")) is None


def test_a_failed_training_keeps_its_errors(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "t")
    record = candidate()
    outcome = TrainOutcome(candidate_id="i0-c0", members=[MemberResult(seed=0, status="failed", error="boom")])
    record_training(store, lambda kind, /, **data: None, load_task(GYM_CARTPOLE), record, outcome, announce=False)
    assert record.status == "failed" and record.problems == ["boom"]


def test_baselines_are_trained_once(tmp_path: Path) -> None:
    task = load_task(GYM_CARTPOLE)
    names = [c.id for c in baseline_candidates(task, {})]
    assert names == [f"baseline-{n}" for n in ("human", "sparse") if getattr(task.baselines, n)]
    assert baseline_candidates(task, {n.removeprefix("baseline-"): 1.0 for n in names}) == []


def test_the_same_program_twice_is_skipped_with_its_reason(tmp_path: Path) -> None:
    task = load_task(GYM_CARTPOLE)
    database = ProgramDatabase(sample_transitions(task.env, PROBE_TRANSITIONS, seed=0), Ranking(FitnessSpec()).better)
    store, filters, events = RunStore.create(tmp_path, "t"), Counter(), []
    emit = lambda kind, /, **data: events.append(kind)  # noqa: E731
    first = Designed(candidate("i0-c0"), CODE, "", CriticVerdict("passed"))
    again = Designed(candidate("i0-c1"), CODE, "", CriticVerdict("passed"))
    assert is_novel(first, database, store, filters, emit)
    assert not is_novel(again, database, store, filters, emit)
    assert again.record.status == "duplicate" and again.record.duplicate_of == "i0-c0"
    assert sum(filters.values()) == 1 and events == ["duplicate_skipped"]
    assert json.loads(store.path("iter_0/cand_1/candidate.json").read_text())["status"] == "duplicate"
