"""Selection: which fitness is better, the best so far (overall and per island), the parents
and elites each island's prompt shows, and migration between islands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from eureka.config import RunConfig
from eureka.design.designer import IslandPrompt
from eureka.design.prompts import PromptBuilder
from eureka.loop.database import ProgramDatabase
from eureka.loop.reflect import Reflection
from eureka.rundir.records import Candidate, IslandBest, Migration
from eureka.task import FitnessSpec


MAX_TIED = 2  # candidates beside a tied parent whose specs eureka's edits also start from


@dataclass(frozen=True)
class Ranking:
    """Fitness order under the task's direction; None and non-finite values are worst."""

    fitness: FitnessSpec

    def better(self, a: float | None, b: float | None) -> bool:
        """Is fitness a better than b?"""
        if a is None or not math.isfinite(a):
            return False
        if b is None:
            return True
        return a > b if self.fitness.direction == "maximize" else a < b

    def reaches_target(self, fitness: float | None) -> bool:
        target = self.fitness.target
        if target is None or fitness is None:
            return False
        return fitness >= target if self.fitness.direction == "maximize" else fitness <= target


@dataclass
class Elite:
    record: Candidate
    reply: str
    reflection: Reflection


class Selection:
    """The best so far, each island's best, and a person's chosen parent (next generation only).

    `prompts` is one prompt builder, or the builders of several designers by name (a mixed run:
    specs and free-form code); each island gets a prompt from each. A designer that cannot show
    the island's best as its own reply (a spec designer, when free-form code leads) continues
    from the best it can show, which `load` reads back from the run directory.
    """

    def __init__(self, ranking: Ranking, database: ProgramDatabase, prompts: PromptBuilder | dict[str, PromptBuilder],
                 config: RunConfig, load: Callable[[Candidate], Elite] | None = None) -> None:
        self.ranking = ranking
        self.database = database
        self.builders: dict[str, PromptBuilder] = prompts if isinstance(prompts, dict) else {"": prompts}
        self.prompts = next(iter(self.builders.values()))
        self.config = config
        self.load = load
        self.elite: Elite | None = None  # the best so far
        self.island_elites: dict[int, Elite] = {}  # the best so far of each island's own lineage
        self.chosen_parent: Elite | None = None

    def better_than(self, candidate: Elite | None, current: Elite | None) -> bool:
        return candidate is not None and self.ranking.better(
            candidate.record.fitness, current.record.fitness if current else None)

    def reached_target(self) -> bool:
        return self.elite is not None and self.ranking.reaches_target(self.elite.record.fitness)

    def offer(self, elite: Elite | None) -> bool:
        """A generation's best: it becomes the best so far if better. Returns whether it did."""
        if not self.better_than(elite, self.elite):
            return False
        self.elite = elite
        return True

    def update_island_elite(self, elite: Elite) -> None:
        if self.better_than(elite, self.island_elites.get(elite.record.island)):
            self.island_elites[elite.record.island] = elite

    def island_bests(self) -> list[IslandBest]:
        return [IslandBest(island=island, best_candidate=elite.record.id, best_fitness=elite.record.fitness)
                for island, elite in sorted(self.island_elites.items())]

    def prompts_for_generation(self, feedback: list[str]) -> list[IslandPrompt]:
        """One prompt per island and designer (the first designer's islands first); feedback and
        a person's chosen parent go to all."""
        chosen, self.chosen_parent = self.chosen_parent, None
        return [self.island_prompt(island, chosen, feedback, designer)
                for designer in self.builders for island in range(self.config.islands)]

    def island_prompt(self, island: int, chosen: Elite | None, feedback: list[str],
                      designer: str | None = None) -> IslandPrompt:
        """The island's best as parent, its other elites, and the best that migrated in."""
        designer = next(iter(self.builders)) if designer is None else designer
        builder = self.builders[designer]
        parent = self.continued(chosen or self.island_elites.get(island), island, builder)
        if parent is None:
            return IslandPrompt(island, builder.initial_messages(), None, feedback, designer=designer)
        shown = self.config.elites_in_prompt
        others = [p for p in self.database.elites(shown, island) if p.record.id != parent.record.id]
        others = others[: max(0, shown - 1)]
        seen = {parent.record.id} | {p.record.id for p in others}
        others += [p for p in self.database.immigrants(island, 1) if p.record.id not in seen]
        turn = builder.parent_turn(parent.reply, self.code_of(parent.record.id))
        messages = builder.reflection_messages(turn, parent.reflection, feedback, others)
        edited = chosen is None and designer == next(iter(self.builders))  # eureka edits the first designer's parents
        tied = self.tied_with(parent, island, builder) if edited else ()
        return IslandPrompt(island, messages, parent.record.id, feedback, parent.reply, designer=designer, tied=tied)

    def tied_with(self, parent: Elite, island: int, builder: PromptBuilder) -> tuple[tuple[str, str], ...]:
        """Up to MAX_TIED of the island's candidates that score exactly as `parent`, as (id, reply)."""
        if self.load is None:
            return ()
        same = [p for p in self.database.elites(len(self.database.programs), island)
                if p.record.id != parent.record.id and p.record.fitness == parent.record.fitness
                and builder.continues(p.code)]
        return tuple((p.record.id, self.load(p.record).reply) for p in same[:MAX_TIED])

    def code_of(self, candidate: str) -> str:
        program = self.database.programs.get(candidate)
        return program.code if program else ""

    def continued(self, parent: Elite | None, island: int, builder: PromptBuilder) -> Elite | None:
        """`parent`, or when `builder`'s designer cannot show it, the island's best that it can."""
        if parent is None or builder.continues(self.code_of(parent.record.id)):
            return parent
        for program in self.database.elites(len(self.database.programs), island):
            if self.load is not None and builder.continues(program.code):
                return self.load(program.record)
        return None

    def migrate(self, iteration: int) -> list[Migration]:
        """Every `migration_interval` generations, each island's best joins the next island's
        prompts (a ring), so good ideas spread while the islands keep their own lineages."""
        islands = self.config.islands
        if islands < 2 or (iteration + 1) % self.config.migration_interval:
            return []
        return self.database.migrate(iteration, islands)
