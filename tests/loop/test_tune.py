"""Constant tuning: the variants of a reward's named constants, and picking the best of them."""

from __future__ import annotations

import json
from pathlib import Path

from eureka.critic.checks import CriticVerdict
from eureka.design.designer import Designed
from eureka.loop.select import Ranking
from eureka.loop.tune import pick_variant, variants_of
from eureka.rundir.records import Candidate
from eureka.rundir.store import RunStore
from eureka.task import FitnessSpec
from eureka.training.base import MemberResult, TrainOutcome

CODE = "W_UP = 1.0\nT_CENTRE = 0.5\nLIMIT = 2.4\n\ndef compute_reward(obs, action, next_obs, terminated):\n    return obs[:, 0], {}\n"


def outcome(cid: str, fitness: float | None) -> TrainOutcome:
    status = "ok" if fitness is not None else "failed"
    return TrainOutcome(candidate_id=cid, members=[MemberResult(seed=0, status=status, fitness=fitness)])


def test_variants_scale_only_weights_and_temperatures() -> None:
    variants = variants_of("i0-c0", CODE, 8)
    assert {tuple(v.constants) for v in variants} == {("W_UP",), ("T_CENTRE",)}
    assert len(variants) == 4 and all(v.id.startswith("i0-c0~t") for v in variants)
    assert variants_of("i0-c0", CODE, 0) == [] and variants_of("i0-c0", "def broken(:", 4) == []
    assert [v.constants for v in variants_of("i0-c0", CODE, 2)] == [v.constants for v in variants_of("i0-c0", CODE, 2)]


def designed(store: RunStore) -> Designed:
    record = Candidate(id="i0-c0", iteration=0, index=0, parent_id=None, directory="iter_0/cand_0", status="trained")
    store.write_text("iter_0/cand_0/reward.py", CODE)
    return Designed(record, CODE, "reply", CriticVerdict("passed"))


def test_a_winning_variant_becomes_the_candidate(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "t")
    events: list[tuple[str, dict]] = []
    item = designed(store)
    variants = variants_of("i0-c0", CODE, 2)
    outcomes = {variants[0].id: outcome(variants[0].id, 5.0), variants[1].id: outcome(variants[1].id, None)}
    tuning = pick_variant(item, outcome("i0-c0", 3.0), variants, outcomes, Ranking(FitnessSpec()).better, store,
                          lambda kind, /, **data: events.append((kind, data)))
    assert tuning is not None and tuning.record.winner == variants[0].label
    assert tuning.outcome.candidate_id == "i0-c0" and tuning.outcome.fitness == 5.0
    assert [row.fitness for row in tuning.record.variants] == [3.0, 5.0, None]
    assert store.path("iter_0/cand_0/reward.py").read_text() == variants[0].code == item.code
    assert store.path("iter_0/cand_0/reward_as_written.py").read_text() == CODE
    assert "won: " in tuning.summary and events[0][0] == "constants_tuned"
    assert json.loads(tuning.record.model_dump_json())["winner"] == variants[0].label


def test_the_reward_as_written_stays_when_no_variant_beats_it(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "t")
    item = designed(store)
    variants = variants_of("i0-c0", CODE, 1)
    tuning = pick_variant(item, outcome("i0-c0", 3.0), variants, {variants[0].id: outcome(variants[0].id, 1.0)},
                          Ranking(FitnessSpec()).better, store, lambda kind, /, **data: None)
    assert tuning is not None and tuning.record.winner == "as written"
    assert not store.path("iter_0/cand_0/reward_as_written.py").exists() and item.code == CODE
    assert pick_variant(item, outcome("i0-c0", 3.0), [], {}, Ranking(FitnessSpec()).better, store,
                        lambda kind, /, **data: None) is None
