"""One generation in flight: designing its samples and eureka's edits, and the novelty filter in
front of its training."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eureka.design.designer import Designed, Emit, IslandPrompt
from eureka.design.llm.base import BudgetRefused
from eureka.loop import outcomes
from eureka.loop.database import ProgramDatabase
from eureka.loop.tune import Variant
from eureka.rundir.records import EventKind
from eureka.rundir.store import RunStore
from eureka.training.base import TrainOutcome
from eureka.training.runner import TrainingSession

if TYPE_CHECKING:
    from eureka.loop.search import Search


@dataclass
class Generation:
    """One generation in flight: what was designed, and what trains or already trained."""

    iteration: int
    session: TrainingSession
    designed: list[Designed] = field(default_factory=list)
    finished: dict[str, TrainOutcome] = field(default_factory=dict)  # trained before an interruption
    variants: dict[str, list[Variant]] = field(default_factory=dict)

    def accepted(self) -> list[Designed]:
        return [d for d in self.designed if d.code is not None and d.record.status != "duplicate"]


def design_generation(search: Search, generation: Generation, prompts: list[IslandPrompt], plan: list[str],
                      scales: bool = False) -> None:
    """The model's samples, each by the designer `plan` names, spread over the islands; then
    eureka's own edits of each parent (the first designer's prompts: the spec designer's). A
    sample that will not train (the same reward as a known one, or rejected) leaves its place to
    one more edit, so a generation trains as many candidates as planned where edits are on. With
    `scales` (the run's closing tuning, and an empty plan) the edits change the best spec's
    weights and widths, as many as a generation trains."""
    idle = 0
    for index, designer in enumerate(plan):
        if search.budget.exhausted:
            break
        own = [p for p in prompts if p.designer == designer] or prompts
        try:
            item = search.designer.design(generation.iteration, index, own[index % len(own)])
        except BudgetRefused:
            break
        idle += not search.enqueue(generation, item)
    parents = [p for p in prompts if p.designer == prompts[0].designer]
    if scales:
        best = search.selection.elite
        parents = [p for p in parents if best is not None and p.parent == best.record.id][:1] or parents[:1]
        edits = search.config.samples + search.config.edits
    else:
        edits = search.config.edits + idle if search.config.edits else 0
    edits_per_island = max(1, edits // len(parents)) if edits else 0
    for prompt in parents:  # each edit starts training as it is made; a duplicate leaves its place to the next
        search.designer.edits(generation.iteration, len(generation.designed), prompt, edits_per_island,
                              admit=lambda item: search.enqueue(generation, item), scales=scales)
    if search.config.with_baselines and generation.iteration == 0:
        generation.session.submit(*outcomes.baseline_candidates(search.task, search.baselines))


def is_novel(item: Designed, database: ProgramDatabase, store: RunStore, filters: Counter[str], emit: Emit) -> bool:
    """Skip training a candidate that is the same as one already evaluated in this run."""
    values = item.verdict.reward_values
    base = len(database.novelty.transitions)
    values = values[:base] if values is not None and len(values) >= base else None
    verdict = database.novelty.judge(item.code or "", values)
    if verdict.novel:
        database.novelty.remember(item.record.id, item.code or "", values)
        return True
    filters[verdict.kind or "duplicate"] += 1
    item.record.status, item.record.duplicate_of, item.record.problems = "duplicate", verdict.other, [verdict.detail]
    store.write_candidate(item.record)
    emit(EventKind.DUPLICATE_SKIPPED, candidate=item.record.id, kind=verdict.kind, other=verdict.other,
         detail=verdict.detail)
    return False
