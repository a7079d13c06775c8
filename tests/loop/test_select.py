"""Selection: fitness order, the best so far, island elites, prompts and migration."""

from __future__ import annotations

import numpy as np

from eureka.config import RunConfig
from eureka.envs.base import Transitions
from eureka.loop.database import ProgramDatabase
from eureka.loop.reflect import Reflection
from eureka.loop.select import Elite, Ranking, Selection
from eureka.rundir.records import Candidate
from eureka.task import FitnessSpec


def elite(cid: str, fitness: float | None, island: int = 0) -> Elite:
    record = Candidate(id=cid, iteration=0, index=0, parent_id=None, directory=f"iter_0/{cid}", status="trained",
                       fitness=fitness, island=island)
    return Elite(record, f"reply of {cid}", Reflection(f"reflection of {cid}", [], []))


class Prompts:
    def initial_messages(self):
        return ["initial"]

    def reflection_messages(self, reply, reflection, feedback, others):
        return [reply, reflection.text, *feedback, *(p.record.id for p in others)]

    def continues(self, code):
        return True

    def parent_turn(self, reply, code):
        return reply


def selection(islands: int = 1, direction: str = "maximize", target: float | None = None,
              load=None) -> Selection:
    ranking = Ranking(FitnessSpec(direction=direction, target=target))
    empty = Transitions(obs=np.zeros((1, 4), np.float32), action=np.zeros(1, int), next_obs=np.zeros((1, 4), np.float32),
                        terminated=np.zeros(1, bool), truncated=np.zeros(1, bool), env_reward=np.zeros(1, np.float32))
    config = RunConfig(model="scripted:x", iterations=4, samples=2, islands=islands, elites_in_prompt=2)
    return Selection(ranking, ProgramDatabase(empty, ranking.better), Prompts(), config, load)


def test_ranking_follows_the_direction_and_puts_missing_scores_last() -> None:
    up, down = Ranking(FitnessSpec()), Ranking(FitnessSpec(direction="minimize"))
    assert up.better(2.0, 1.0) and not up.better(1.0, 2.0)
    assert down.better(1.0, 2.0) and not down.better(2.0, 1.0)
    assert up.better(0.0, None) and not up.better(None, 0.0) and not up.better(float("nan"), None)
    assert Ranking(FitnessSpec(target=10)).reaches_target(10.0)
    assert not Ranking(FitnessSpec(direction="minimize", target=10)).reaches_target(11.0)
    assert not up.reaches_target(1e9)  # no target


def test_offer_keeps_the_best_and_reports_a_new_one() -> None:
    chosen = selection(target=5.0)
    assert chosen.offer(elite("a", 1.0))
    assert not chosen.offer(elite("b", 0.5)) and not chosen.offer(None)
    assert chosen.elite.record.id == "a" and not chosen.reached_target()
    assert chosen.offer(elite("c", 6.0)) and chosen.reached_target()


def test_first_prompt_is_the_initial_one_then_the_island_best_is_the_parent() -> None:
    chosen = selection(islands=2)
    first = chosen.prompts_for_generation(["be gentle"])
    assert [p.parent for p in first] == [None, None] and first[0].messages == ["initial"]
    chosen.update_island_elite(elite("a", 1.0, island=1))
    chosen.update_island_elite(elite("b", 0.5, island=1))
    prompts = chosen.prompts_for_generation(["more"])
    assert prompts[0].parent is None
    assert prompts[1].parent == "a" and prompts[1].parent_reply == "reply of a"
    assert prompts[1].messages[:3] == ["reply of a", "reflection of a", "more"]
    assert [b.best_candidate for b in chosen.island_bests()] == ["a"]


def test_a_chosen_parent_leads_one_generation_only() -> None:
    chosen = selection()
    chosen.update_island_elite(elite("best", 3.0))
    chosen.chosen_parent = elite("mine", 1.0)
    assert chosen.prompts_for_generation([])[0].parent == "mine"
    assert chosen.prompts_for_generation([])[0].parent == "best"


def test_migration_runs_every_interval_with_islands_only() -> None:
    single = selection(islands=1)
    assert single.migrate(1) == []
    ring = selection(islands=2)
    for item in (elite("a", 1.0, 0), elite("b", 2.0, 1)):
        ring.database.add(item.record, "code")
    assert ring.migrate(0) == []  # interval 2: after generations 1, 3, ...
    moved = ring.migrate(1)
    assert {(m.candidate, m.from_island, m.to_island) for m in moved} == {("a", 0, 1), ("b", 1, 0)}


def test_candidates_that_score_exactly_as_the_parent_come_with_it_for_edits() -> None:
    chosen = selection(load=lambda record: elite(record.id, record.fitness, record.island))
    items = [elite("a", 0.0), elite("b", 0.0), elite("c", 0.5), elite("d", 0.0), elite("e", 0.0), elite("f", 0.0, 1)]
    for item in items:
        chosen.database.add(item.record, "code")
        chosen.update_island_elite(item)
    prompt = chosen.prompts_for_generation([])[0]
    assert prompt.parent == "c" and prompt.tied == ()  # a parent that leads alone
    chosen = selection(load=lambda record: elite(record.id, record.fitness, record.island))
    for item in items[:2] + items[3:]:
        chosen.database.add(item.record, "code")
        chosen.update_island_elite(item)
    prompt = chosen.prompts_for_generation([])[0]
    # the first of the ties leads; the next ones of its island (at most MAX_TIED) come beside it
    assert prompt.parent == "a" and prompt.tied == (("b", "reply of b"), ("d", "reply of d"))
    chosen.chosen_parent = elite("mine", 0.0)  # a person's choice leads alone
    assert chosen.prompts_for_generation([])[0].tied == ()
    assert selection().island_prompt(0, elite("x", 0.0), []).tied == ()  # nothing to load from
