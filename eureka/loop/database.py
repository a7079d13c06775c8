"""The program database: every evaluated candidate, its lineage and score, and what the
search learns from them (elites for the prompts, novelty memory, recorded trajectories)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from eureka.envs.base import Transitions
from eureka.critic.novelty import NoveltyFilter
from eureka.critic.prefilter import Episode, episodes_of
from eureka.training.base import FitnessSpec

CandidateStatus = Literal["rejected", "duplicate", "trained", "failed"]
MAX_POLICY_ROLLOUTS = 8


class CandidateRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    iteration: int
    index: int
    parent_id: str | None
    directory: str
    status: CandidateStatus
    components: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    fitness: float | None = None
    fitness_per_seed: list[float | None] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list)  # human feedback its prompt carried
    duplicate_of: str | None = None
    edit: str | None = None  # a structural edit of the parent that eureka made (structured mode), not the LLM
    island: int = 0  # the sub-population it was designed in (runs without islands: 0)
    reward_sha256: str | None = None  # of reward.py as the host wrote it (eureka.rundir.integrity)


class Migration(BaseModel):
    """The best of one island, copied into the next island's prompts as an elite."""

    model_config = ConfigDict(extra="forbid")

    after_iteration: int
    candidate: str
    from_island: int
    to_island: int


@dataclass
class Program:
    record: CandidateRecord
    code: str


@dataclass
class TrajectoryPool:
    """Random-policy transitions plus evaluation rollouts of policies trained in the run."""

    random: Transitions
    rollouts: dict[str, Transitions] = field(default_factory=dict)

    def add(self, candidate_id: str, transitions: Transitions) -> None:
        self.rollouts[candidate_id] = transitions
        while len(self.rollouts) > MAX_POLICY_ROLLOUTS:
            self.rollouts.pop(next(iter(self.rollouts)))

    def add_from_dir(self, candidate_id: str, directory: Path) -> bool:
        """Load a candidate's recorded rollouts (numeric arrays only: never unpickled)."""
        files = sorted(directory.glob("rollouts_seed*.npz"))
        if not files:
            return False
        try:
            with np.load(files[0], allow_pickle=False) as data:
                transitions = Transitions(**{k: data[k] for k in Transitions.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if transitions.obs.ndim != 2 or transitions.obs.shape[1] != self.random.obs.shape[1]:
            return False
        self.add(candidate_id, transitions)
        return True

    @property
    def transitions(self) -> Transitions:
        parts = [self.random, *self.rollouts.values()]
        return Transitions(**{k: np.concatenate([getattr(p, k) for p in parts])
                              for k in Transitions.__dataclass_fields__})

    def episodes(self, spec: FitnessSpec) -> list[Episode]:
        """The whole episodes of `transitions`, found part by part: the random part may end
        inside an episode, which must not run on into the first rollout."""
        episodes, offset = [], 0
        for part in (self.random, *self.rollouts.values()):
            episodes += [Episode(e.start + offset, e.stop + offset, e.ground_truth) for e in episodes_of(part, spec)]
            offset += len(part)
        return episodes


class ProgramDatabase:
    def __init__(self, random_transitions: Transitions, better: Callable[[float | None, float | None], bool]) -> None:
        self.programs: dict[str, Program] = {}
        self.better = better
        self.novelty = NoveltyFilter(random_transitions)
        self.pool = TrajectoryPool(random_transitions)
        self.migrations: list[Migration] = []

    def add(self, record: CandidateRecord, code: str) -> None:
        self.programs[record.id] = Program(record, code)

    def elites(self, k: int, island: int | None = None) -> list[Program]:
        """The k best trained programs (of one island's own lineage if given), best first."""
        scored = [p for p in self.programs.values() if p.record.fitness is not None
                  and math.isfinite(p.record.fitness) and island in (None, p.record.island)]
        return self._ranked(scored)[:k]

    def migrate(self, after_iteration: int, islands: int) -> list[Migration]:
        """Copy the best of each island to the next one (a ring); returns the new migrations."""
        moved = []
        for island in range(islands):
            best = self.elites(1, island)
            if best:
                moved.append(Migration(after_iteration=after_iteration, candidate=best[0].record.id,
                                       from_island=island, to_island=(island + 1) % islands))
        self.migrations += moved
        return moved

    def immigrants(self, island: int, k: int) -> list[Program]:
        """The k best programs that migrated into `island`, best first."""
        arrived = dict.fromkeys(m.candidate for m in self.migrations if m.to_island == island)
        return self._ranked([self.programs[c] for c in arrived if c in self.programs])[:k]

    def _ranked(self, scored: list[Program]) -> list[Program]:
        ranked: list[Program] = []
        for program in scored:
            position = next((i for i, q in enumerate(ranked) if self.better(program.record.fitness, q.record.fitness)),
                            len(ranked))
            ranked.insert(position, program)
        return ranked
