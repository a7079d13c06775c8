"""Restoring a run from its directory, so that `resume` and `refine` continue where it stopped:
the generations summarised in run.json, the trained candidates back in the program database,
the recorded LLM replies to replay instead of paying for them again, and the elites."""

from __future__ import annotations

from collections import Counter

from typing import TYPE_CHECKING

from eureka.loop.reflect import reflect
from eureka.loop.select import Elite
from eureka.rundir.records import Run
from eureka.rundir.store import RunStore
from eureka.task import FitnessSpec

if TYPE_CHECKING:
    from eureka.loop.search import Search


def load_elite(store: RunStore, directory: str, fitness: FitnessSpec) -> Elite:
    """A trained candidate as a parent: its record, reply and reflection."""
    record = store.read_candidate(directory)
    outcome = store.read_metrics(directory).outcome
    return Elite(record, store.path(directory, "reply.md").read_text(), reflect(outcome, fitness))


def restore(search: Search, run: Run) -> None:
    """Load the state of an interrupted or finished run (its run.json: `run`) into `search`."""
    store, selection, database = search.store, search.selection, search.database
    search.iterations = list(run.iterations)
    search.baselines = dict(run.baselines)
    search.feedback_log = list(run.feedback)
    # the unfinished generation is redone and counts its filters again
    search.context.filters.update(run.filters if run.filters_finished is None else run.filters_finished)
    search.context.finished_filters = Counter(search.context.filters)
    search.context.replay = store.recorded_replies()
    for completion in search.context.replay.values():
        search.budget.charge(completion)
    for path in sorted(store.directory.glob("iter_*/cand_*/candidate.json")):
        record = store.read_candidate(str(path.parent.relative_to(store.directory)))
        if record.status in ("trained", "failed") and record.iteration < len(search.iterations):
            code = store.path(record.directory, "reward.py").read_text()
            database.add(record, code)
            database.novelty.remember(record.id, code, None)
            database.pool.add_from_dir(record.id, store.path(record.directory))
    search.use_pool()
    database.migrations = list(run.migrations)
    for island in range(search.config.islands):
        best_of_island = database.elites(1, island)
        if best_of_island:
            selection.island_elites[island] = load_elite(store, best_of_island[0].record.directory,
                                                         search.task.fitness)
    if run.best is not None:
        selection.elite = load_elite(store, run.best.directory, search.task.fitness)
        # the same as the island's best up to ties; keep the recorded one
        selection.island_elites[selection.elite.record.island] = selection.elite

