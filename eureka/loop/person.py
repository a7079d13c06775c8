"""A generation of one candidate that a person wrote (refine: `edit` or `write`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eureka.loop import outcomes
from eureka.loop.select import Elite
from eureka.rundir.records import Candidate, EventKind, IterationSummary
from eureka.training.runner import CandidateCode

if TYPE_CHECKING:
    from eureka.loop.search import Search


def person_generation(search: Search, code: str, reply: str) -> Candidate:
    """A generation of one candidate a person wrote: the critic's static checks and the
    sandboxed probe apply as to any candidate (not the LLM review or the novelty filter:
    the person chose this reward on purpose); it trains in the sandbox and may become the best."""
    iteration = len(search.iterations)
    parent = search.selection.elite.record.id if search.selection.elite else None
    search.emit(EventKind.GENERATION_STARTED, iteration=iteration, person=True)
    item = search.designer.person(iteration, code, reply, parent)
    record = item.record
    if item.code is not None:
        search.emit(EventKind.TRAINING_STARTED, iteration=iteration, candidates=[record.id])
        (outcome,) = search.runner.train([CandidateCode(record.id, code, search.store.path(record.directory))],
                                         search.training_progress)
        elite = Elite(record, reply, outcomes.record_training(search.store, search.emit, search.task, record, outcome))
        search.database.add(record, code)
        search.selection.update_island_elite(elite)
        if search.selection.offer(elite):
            search.store.write_text("best/reward.py", code)
            search.emit(EventKind.NEW_BEST, candidate=record.id, fitness=record.fitness)
    trained = record.status == "trained" and record.fitness is not None
    search.finish_generation(IterationSummary(iteration=iteration, candidates=1, accepted=int(item.code is not None),
                                              best_candidate=record.id if trained else None,
                                              best_fitness=record.fitness if trained else None))
    return record
