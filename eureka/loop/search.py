"""The generation loop: iterations x samples of design -> critic -> train -> reflect.

The loop receives its collaborators (a designer, the critic, the training runner, the run
store) and talks to the outside only through `emit` (events.jsonl plus an optional listener
such as the terminal UI). All it learns lives in the program database; which candidates lead
is `select`'s business, constant variants `tune`'s, a resumed run's state `replay`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from eureka.config import RunConfig
from eureka.critic.checks import Critic
from eureka.design.designer import DesignContext, Designed, Designer, IslandPrompt, Listener  # noqa: F401
from eureka.design.llm.base import BudgetRefused, ProviderUnavailable
from eureka.design.llm.budget import Budget
from eureka.envs.preflight import stop_on_env_failure
from eureka.loop import outcomes, person, replay
from eureka.loop.database import ProgramDatabase
from eureka.loop.generation import Generation, design_generation, is_novel
from eureka.loop.select import Elite, Ranking, Selection
from eureka.loop.tune import pick_variant, variants_of
from eureka.rundir.records import (BestCandidate, Candidate, EventKind, FeedbackEntry, IterationSummary, Run,
                                   RunStatus)
from eureka.rundir.store import RUN_FORMAT_VERSION, RunStore, library_versions
from eureka.task import TaskSpec
from eureka.training.base import TrainOutcome
from eureka.training.runner import CandidateCode, TrainingRunner


@dataclass
class RunResult:
    store: RunStore
    iterations: list[IterationSummary]
    best: Candidate | None
    baselines: dict[str, float | None] = field(default_factory=dict)
    reached_target: bool = False
    budget: Budget | None = None
    stop_reason: str = "completed"
    filters: dict[str, int] = field(default_factory=dict)
    distance_to_human: float | None = None
    island_bests: dict[int, Candidate] = field(default_factory=dict)  # with more than one island


class Search:
    def __init__(self, task: TaskSpec, designer: Designer, critic: Critic, runner: TrainingRunner,
                 config: RunConfig, indexer: Callable[[RunStore], None] | None = None) -> None:
        self.task, self.designer, self.critic, self.runner, self.config = task, designer, critic, runner, config
        self.context: DesignContext = designer.context
        self.store, self.budget = self.context.store, self.context.budget
        self.listener, self.indexer = self.context.listener, indexer
        self.iterations: list[IterationSummary] = []
        self.baselines: dict[str, float | None] = {}
        self.database = ProgramDatabase(critic.transitions, Ranking(task.fitness).better)
        self.selection = Selection(Ranking(task.fitness), self.database, designer.prompt_sets, config,
                                   lambda record: replay.load_elite(self.store, record.directory, task.fitness))
        self.stop_reason = "completed"
        self.distance_to_human: float | None = None
        self.pending_feedback: list[str] = []  # human feedback for the next generation's prompt
        self.feedback_log: list[FeedbackEntry] = []

    def restore(self, run: Run) -> None:
        replay.restore(self, run)

    def use_pool(self) -> int:
        """Probe and pre-filter the next candidates on the pool: random episodes plus the
        evaluation rollouts of policies trained so far. Returns the number of episodes."""
        episodes = self.database.pool.episodes(self.task.fitness)
        self.critic.use_transitions(self.database.pool.transitions, episodes)
        return len(episodes)

    def add_feedback(self, feedback: list[str], kind: str = "text") -> None:
        """Human feedback that the next generation's prompt carries (as quoted text)."""
        self.pending_feedback.extend(feedback)
        parent = self.selection.chosen_parent or self.selection.elite
        self.feedback_log.append(FeedbackEntry(kind=kind, text=list(feedback), before_iteration=len(self.iterations),
                                               parent=parent.record.id if parent else None))

    def emit(self, kind: EventKind, /, **data: Any) -> None:
        self.context.emit(kind, **data)

    def index(self) -> None:
        if self.indexer:
            self.indexer(self.store)

    def write_run_json(self, status: RunStatus) -> None:
        best = self.selection.elite.record if self.selection.elite else None
        self.store.write_run(Run(
            format_version=RUN_FORMAT_VERSION, run_id=self.store.run_id, status=status,
            stop_reason=self.stop_reason, task=self.task.model_dump(mode="json"),
            task_path=str(self.task.path) if self.task.path else None, model=self.config.model,
            settings=self.config.model_dump(), versions=library_versions(), usage=self.budget.to_json(),
            filters=dict(self.context.filters), filters_finished=dict(self.context.finished_filters),
            best_distance_to_human=self.distance_to_human,
            islands=self.selection.island_bests(), migrations=self.database.migrations,
            feedback=self.feedback_log, iterations=self.iterations, baselines=self.baselines,
            best=None if best is None else BestCandidate(candidate=best.id, fitness=best.fitness,
                                                         directory=best.directory, designer=best.designer)))

    def result(self) -> RunResult:
        elite, islands = self.selection.elite, self.selection.island_elites
        return RunResult(self.store, self.iterations, elite.record if elite else None, self.baselines,
                         self.selection.reached_target(), self.budget, self.stop_reason, dict(self.context.filters),
                         self.distance_to_human,
                         {i: e.record for i, e in sorted(islands.items())} if self.config.islands > 1 else {})

    def run(self) -> RunResult:
        self.write_run_json("running")
        self.emit(EventKind.RUN_STARTED, run_id=self.store.run_id, task=self.task.name, model=self.config.model,
                  iterations=self.config.iterations, samples=self.config.samples, resumed_at=len(self.iterations))
        try:
            while (iteration := len(self.iterations)) < self.config.iterations or self.tunes_best():
                self.run_iteration(iteration, scales=iteration >= self.config.iterations)
                self.context.finished_filters = Counter(self.context.filters)
                self.write_run_json("running")
                self.index()
                if self.stopped():
                    break
        except ProviderUnavailable as exc:
            self.stop_reason = "provider unavailable"
            self.write_run_json("waiting")
            self.emit(EventKind.RUN_WAITING, error=str(exc), resume=f"eureka resume {self.store.directory}")
            exc.run_directory = self.store.directory
            raise
        except BaseException as exc:
            self.stop_reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
            self.write_run_json("failed" if not isinstance(exc, KeyboardInterrupt) else "stopped")
            self.emit(EventKind.RUN_FAILED, error=f"{type(exc).__name__}: {exc}")
            raise
        elite = self.selection.elite
        if elite is not None:
            best_code = self.store.path(elite.record.directory, "reward.py").read_text()
            self.distance_to_human = outcomes.distance_to_human(self.task, self.critic, self.database, best_code)
        self.write_run_json("finished")
        self.index()
        self.emit(EventKind.RUN_FINISHED, best=elite.record.id if elite else None,
                  fitness=elite.record.fitness if elite else None, usage=self.budget.to_json(),
                  filters=dict(self.context.filters))
        return self.result()

    def stopped(self) -> bool:
        """Whether a stop fired; the budget first when it fired during the generation."""
        if target := self.selection.reached_target():
            self.emit(EventKind.TARGET_REACHED, fitness=self.selection.elite.record.fitness)
        if self.budget.exhausted:
            self.emit(EventKind.BUDGET_EXHAUSTED, usage=self.budget.describe())
        self.stop_reason = "budget" if self.budget.exhausted else "target" if target else self.stop_reason
        return self.stop_reason in ("budget", "target")

    def tunes_best(self) -> bool:
        """Whether the run closes with a generation that tunes its best spec's weights and widths:
        structured mode where the trainer does not tune constants, once the last generation has
        missed the task's target (a task without one asked for its generations and no more)."""
        return (self.config.tune_best and self.task.fitness.target is not None
                and len(self.iterations) == self.config.iterations
                and self.selection.elite is not None and not self.selection.reached_target())

    def run_iteration(self, iteration: int, scales: bool = False) -> None:
        plan = [] if scales else self.designer.plan(self.config.samples)
        self.emit(EventKind.GENERATION_STARTED, iteration=iteration, designers=dict(Counter(plan)), tuning=scales)
        feedback, self.pending_feedback = self.pending_feedback, []
        prompts = self.selection.prompts_for_generation(feedback)
        generation = Generation(iteration, self.runner.session(self.training_progress, overlap=self.config.overlap))
        design_generation(self, generation, prompts, plan, scales)
        accepted = generation.accepted()
        self.emit(EventKind.TRAINING_STARTED, iteration=iteration,
                  candidates=[d.record.id for d in accepted if d.record.id not in generation.finished])
        fresh = {o.candidate_id: o for o in generation.session.results()}
        stop_on_env_failure(fresh.values())  # the env's own failure is no candidate's: the run stops here
        if generation.session.populations:
            self.emit(EventKind.POPULATIONS_TRAINED, populations=generation.session.populations)
        best_here = self.record_generation(generation, accepted, fresh)
        if self.selection.offer(best_here):
            outcomes.write_best(self.store, best_here.record)
            self.emit(EventKind.NEW_BEST, candidate=best_here.record.id, fitness=best_here.record.fitness,
                      designer=best_here.record.designer)
        for migration in self.selection.migrate(iteration):
            self.emit(EventKind.MIGRATION, **migration.model_dump())
        self.finish_generation(IterationSummary(
            iteration=iteration, candidates=len(generation.designed), accepted=len(accepted),
            best_candidate=best_here.record.id if best_here else None,
            best_fitness=best_here.record.fitness if best_here else None))

    def enqueue(self, generation: Generation, item: Designed) -> bool:
        """Start training an accepted, novel candidate and its constant variants; whether it trains
        (or trained before the run was interrupted)."""
        generation.designed.append(item)
        if item.code is None or not is_novel(item, self.database, self.store, self.context.filters, self.emit):
            return False
        done = outcomes.finished_outcome(self.store, item.record)
        if done is not None:
            generation.finished[item.record.id] = done
            return True
        variants = generation.variants[item.record.id] = variants_of(item.record.id, item.code,
                                                                     self.config.constant_variants)
        directory = self.store.path(item.record.directory)
        generation.session.submit(CandidateCode(item.record.id, item.code, directory),
                                  *(CandidateCode(v.id, v.code, directory / "variants" / str(k))
                                    for k, v in enumerate(variants)))
        self.emit(EventKind.TRAINING_SUBMITTED, candidate=item.record.id, variants=len(variants))
        return True

    def record_generation(self, generation: Generation, accepted: list[Designed],
                          fresh: dict[str, TrainOutcome]) -> Elite | None:
        """Score and remember every trained candidate; returns the generation's best."""
        best_here: Elite | None = None
        best_of_island: dict[int, Elite] = {}
        for item in accepted:
            outcome = generation.finished.get(item.record.id) or fresh[item.record.id]
            tuning = pick_variant(item, outcome, generation.variants.get(item.record.id, []), fresh,
                                  self.selection.ranking.better, self.store, self.emit)
            if tuning is not None:
                outcome = tuning.outcome
            reflection = outcomes.record_training(self.store, self.emit, self.task, item.record, outcome,
                                                  announce=item.record.id in fresh, tuning=tuning)
            self.database.add(item.record, item.code or "")
            if outcome.ok:
                self.database.pool.add_from_dir(item.record.id, self.store.path(item.record.directory))
            here = Elite(item.record, item.reply, reflection)
            if self.selection.better_than(here, best_here):
                best_here = here
            if self.selection.better_than(here, best_of_island.get(item.record.island)):
                best_of_island[item.record.island] = here
        episodes = self.use_pool()
        self.emit(EventKind.TRAJECTORY_POOL, rollouts=len(self.database.pool.rollouts), episodes=episodes)
        outcomes.record_baselines(self.store, self.emit, fresh, self.baselines)
        for elite in best_of_island.values():
            self.selection.update_island_elite(elite)
        return best_here

    def finish_generation(self, summary: IterationSummary) -> None:
        self.iterations.append(summary)
        self.emit(EventKind.GENERATION_FINISHED, **summary.model_dump())

    def person_generation(self, code: str, reply: str) -> Candidate:
        """A generation of one candidate a person wrote (see loop/person.py)."""
        return person.person_generation(self, code, reply)

    def training_progress(self, candidate_id: str, step: int, total: int) -> None:
        if self.listener:
            self.listener(EventKind.TRAINING_PROGRESS, {"candidate": candidate_id, "step": step, "total": total})
