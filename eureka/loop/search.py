"""The search loop: iterations x samples of design -> critic -> train -> reflect.

The loop receives its collaborators (LLM client, critic, training runner, run store,
prompt builder) and talks to the outside only through `emit` (events.jsonl plus an
optional listener such as the terminal UI). All it learns lives in the program database.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from eureka.loop.reflect import Reflection, reflect
from eureka.critic.checks import Critic, CriticVerdict, parse_review
from eureka.rundir.integrity import read_reward, reward_sha256
from eureka.loop.database import CandidateRecord, Migration, ProgramDatabase
from eureka.design.llm.base import Completion, GenerationSettings, LLMClient, LLMError, Message
from eureka.design.llm.budget import Budget
from eureka.critic.novelty import reward_distance
from eureka.design.prompts import PromptBuilder
from eureka.rundir.store import RUN_FORMAT_VERSION, RunStore, library_versions
from eureka.task import TaskSpec
from eureka.training.base import TrainOutcome
from eureka.training.runner import CandidateCode, TrainingRunner
from eureka.loop.tune import Variant, variants_of

Listener = Callable[[str, dict[str, Any]], None]
CODE_PREFILL = "```python\n"


class IterationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iteration: int
    candidates: int
    accepted: int
    best_candidate: str | None
    best_fitness: float | None


@dataclass
class SearchSettings:
    iterations: int
    samples: int
    max_repairs: int
    generation: GenerationSettings
    model: str
    sandbox: str
    with_baselines: bool = False
    elites_in_prompt: int = 1
    max_tokens: int | None = None  # budget for the whole run
    max_cost_usd: float | None = None
    llm_review: bool = False  # the LLM critic pass before training
    overlap: bool = True  # train candidates while the next ones are being designed
    constant_variants: int = 0  # constant-tuning variants trained beside each candidate
    mode: str = "code"  # "code": free-form reward code; "spec": a structured reward spec (small models)
    edits: int = 0  # structural edits of the parent spec trained beside the LLM's children (spec mode)
    selection: bool = True  # semantic checks before training (constant, wrong ranking, all-cost specs)
    seed: int | None = None  # the embedded model's sampling seed (API models are not reproducible)
    islands: int = 1  # sub-populations with their own parents and elites (samples spread over them)
    migration_interval: int = 2  # every this many generations each island's best joins the next's prompts

    def to_json(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "samples": self.samples, "max_repairs": self.max_repairs,
                "sandbox": self.sandbox, "with_baselines": self.with_baselines,
                "elites_in_prompt": self.elites_in_prompt, "max_tokens": self.max_tokens,
                "max_cost_usd": self.max_cost_usd, "llm_review": self.llm_review, "overlap": self.overlap,
                "constant_variants": self.constant_variants, "mode": self.mode,
                "selection": self.selection, "seed": self.seed, "edits": self.edits, "islands": self.islands,
                "migration_interval": self.migration_interval,
                "temperature": self.generation.temperature, "max_tokens_per_reply": self.generation.max_tokens}

    @classmethod
    def from_json(cls, data: dict[str, Any], model: str) -> "SearchSettings":
        return cls(iterations=data["iterations"], samples=data["samples"], max_repairs=data["max_repairs"],
                   generation=GenerationSettings(temperature=data["temperature"],
                                                 max_tokens=data["max_tokens_per_reply"]),
                   model=model, sandbox=data["sandbox"], with_baselines=data.get("with_baselines", False),
                   elites_in_prompt=data.get("elites_in_prompt", 1), max_tokens=data.get("max_tokens"),
                   max_cost_usd=data.get("max_cost_usd"), llm_review=data.get("llm_review", False),
                   overlap=data.get("overlap", True),
                   constant_variants=data.get("constant_variants", 0), mode=data.get("mode", "code"),
                   selection=data.get("selection", True), seed=data.get("seed"), edits=data.get("edits", 0),
                   islands=data.get("islands", 1), migration_interval=data.get("migration_interval", 2))


@dataclass
class Elite:
    record: CandidateRecord
    reply: str
    reflection: Reflection


@dataclass(frozen=True)
class IslandPrompt:
    """What one island's samples of a generation are asked with."""

    island: int
    messages: list[Message]
    parent: str | None
    feedback: list[str]
    parent_reply: str | None = None  # the parent's reply (its spec, in structured mode)


@dataclass
class RunResult:
    store: RunStore
    iterations: list[IterationSummary]
    best: CandidateRecord | None
    baselines: dict[str, float | None] = field(default_factory=dict)
    reached_target: bool = False
    budget: Budget | None = None
    stop_reason: str = "completed"
    filters: dict[str, int] = field(default_factory=dict)
    distance_to_human: float | None = None
    island_bests: dict[int, CandidateRecord] = field(default_factory=dict)  # with more than one island


@dataclass
class Tuning:
    outcome: TrainOutcome  # the winner's, under the candidate's id
    rows: list[dict[str, Any]]
    winner: str
    summary: str


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass
class Designed:
    record: CandidateRecord
    code: str | None  # None: rejected
    reply: str
    verdict: CriticVerdict


class Search:
    def __init__(self, task: TaskSpec, client: LLMClient, critic: Critic, runner: TrainingRunner,
                 store: RunStore, prompts: PromptBuilder, settings: SearchSettings,
                 listener: Listener | None = None, indexer: Callable[[RunStore], None] | None = None,
                 spec_mode: Any = None) -> None:
        self.task = task
        self.client = client
        self.critic = critic
        self.runner = runner
        self.store = store
        self.prompts = prompts
        self.settings = settings
        self.listener = listener
        self.indexer = indexer
        self.spec_mode = spec_mode  # eureka.design.spec.SpecMode in structured mode; its prompts are in `prompts`
        self.iterations: list[IterationSummary] = []
        self.elite: Elite | None = None  # the best so far
        self.island_elites: dict[int, Elite] = {}  # the best so far of each island's own lineage
        self.chosen_parent: Elite | None = None  # a person's choice for the next generation only
        self.baselines: dict[str, float | None] = {}
        self.database = ProgramDatabase(critic.transitions, self.better)
        self.budget = Budget(settings.max_tokens, settings.max_cost_usd)
        self.filters: Counter[str] = Counter()  # trainings saved, by filter
        self.stop_reason = "completed"
        self.distance_to_human: float | None = None
        self.replay: dict[str, Completion] = {}  # recorded replies by purpose (a resumed run)
        self.pending_feedback: list[str] = []  # human feedback for the next generation's prompt
        self.feedback_log: list[dict[str, Any]] = []

    # -- resuming --------------------------------------------------------------------
    def restore(self) -> None:
        """Load the state of an interrupted or finished run from its directory."""
        run = self.store.read_json("run.json")
        self.iterations = [IterationSummary.model_validate(it) for it in run.get("iterations", [])]
        self.baselines = dict(run.get("baselines") or {})
        self.feedback_log = list(run.get("feedback") or [])
        self.filters.update(run.get("filters") or {})
        self.replay = self.store.recorded_replies()
        for completion in self.replay.values():
            self.budget.charge(completion)
        for path in sorted(self.store.directory.glob("iter_*/cand_*/candidate.json")):
            record = CandidateRecord.model_validate(self.store.read_json(str(path.relative_to(self.store.directory))))
            if record.status in ("trained", "failed") and record.iteration < len(self.iterations):
                code = self.store.path(record.directory, "reward.py").read_text()
                self.database.add(record, code)
                self.database.novelty.remember(record.id, code, None)
                self.database.pool.add_from_dir(record.id, self.store.path(record.directory))
        self.use_pool()
        self.database.migrations = [Migration.model_validate(m) for m in run.get("migrations") or []]
        for island in range(self.settings.islands):
            best_of_island = self.database.elites(1, island)
            if best_of_island:
                self.island_elites[island] = self.load_elite(best_of_island[0].record.directory)
        best = run.get("best")
        if best:
            self.elite = self.load_elite(best["directory"])
            self.island_elites[self.elite.record.island] = self.elite  # the same up to ties; keep the recorded one

    def use_pool(self) -> int:
        """Probe and pre-filter the next candidates on the pool: random episodes plus the
        evaluation rollouts of policies trained so far. Returns the number of episodes."""
        pool = self.database.pool
        episodes = pool.episodes(self.task.fitness)
        self.critic.use_transitions(pool.transitions, episodes)
        return len(episodes)

    def load_elite(self, directory: str) -> Elite:
        record = CandidateRecord.model_validate(self.store.read_json(f"{directory}/candidate.json"))
        metrics = self.store.read_json(f"{directory}/metrics.json")
        outcome = TrainOutcome.model_validate(metrics["outcome"])
        return Elite(record, self.store.path(directory, "reply.md").read_text(), reflect(outcome, self.task.fitness))

    def add_feedback(self, feedback: list[str], kind: str = "text") -> None:
        """Human feedback that the next generation's prompt carries (as quoted text)."""
        self.pending_feedback.extend(feedback)
        parent = self.chosen_parent or self.elite
        self.feedback_log.append({"kind": kind, "text": list(feedback), "before_iteration": len(self.iterations),
                                  "parent": parent.record.id if parent else None})

    # -- outside world -------------------------------------------------------------
    def emit(self, kind: str, /, **data: Any) -> None:
        self.store.event(kind, **data)
        if self.listener:
            self.listener(kind, data)

    def index(self) -> None:
        if self.indexer:
            self.indexer(self.store)

    def better(self, a: float | None, b: float | None) -> bool:
        """Is fitness a better than b (None is worst)?"""
        if a is None or not math.isfinite(a):
            return False
        if b is None:
            return True
        return a > b if self.task.fitness.direction == "maximize" else a < b

    def reached_target(self) -> bool:
        target = self.task.fitness.target
        if target is None or self.elite is None or self.elite.record.fitness is None:
            return False
        fitness = self.elite.record.fitness
        return fitness >= target if self.task.fitness.direction == "maximize" else fitness <= target

    def write_run_json(self, status: str) -> None:
        best = self.elite.record if self.elite else None
        self.store.write_json("run.json", {
            "format_version": RUN_FORMAT_VERSION,
            "run_id": self.store.run_id,
            "status": status,
            "stop_reason": self.stop_reason,
            "task": self.task.model_dump(mode="json"),
            "task_path": str(self.task.path) if self.task.path else None,
            "model": self.settings.model,
            "settings": self.settings.to_json(),
            "versions": library_versions(),
            "usage": self.budget.to_json(),
            "filters": dict(self.filters),
            "best_distance_to_human": self.distance_to_human,
            "islands": [{"island": island, "best_candidate": elite.record.id, "best_fitness": elite.record.fitness}
                        for island, elite in sorted(self.island_elites.items())],
            "migrations": self.database.migrations,
            "feedback": self.feedback_log,
            "iterations": self.iterations,
            "baselines": self.baselines,
            "best": None if best is None else {
                "candidate": best.id, "fitness": best.fitness, "directory": best.directory,
                "reward": "best/reward.py"},
        })

    def result(self) -> RunResult:
        return RunResult(self.store, self.iterations, self.elite.record if self.elite else None, self.baselines,
                         self.reached_target(), self.budget, self.stop_reason, dict(self.filters),
                         self.distance_to_human,
                         {island: elite.record for island, elite in sorted(self.island_elites.items())}
                         if self.settings.islands > 1 else {})

    # -- the loop --------------------------------------------------------------------
    def run(self) -> RunResult:
        self.write_run_json("running")
        self.emit("run_started", run_id=self.store.run_id, task=self.task.name, model=self.settings.model,
                  iterations=self.settings.iterations, samples=self.settings.samples,
                  resumed_at=len(self.iterations))
        try:
            for iteration in range(len(self.iterations), self.settings.iterations):
                self.run_iteration(iteration)
                self.write_run_json("running")
                self.index()
                if self.reached_target():
                    self.stop_reason = "target"
                    self.emit("target_reached", fitness=self.elite.record.fitness if self.elite else None)
                    break
                if self.budget.exhausted:
                    self.stop_reason = "budget"
                    self.emit("budget_exhausted", usage=self.budget.describe())
                    break
        except BaseException as exc:
            self.write_run_json("failed" if not isinstance(exc, KeyboardInterrupt) else "stopped")
            self.emit("run_failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self.distance_to_human = self.best_distance_to_human()
        self.write_run_json("finished")
        self.index()
        best = self.elite.record if self.elite else None
        self.emit("run_finished", best=best.id if best else None, fitness=best.fitness if best else None,
                  usage=self.budget.to_json(), filters=dict(self.filters))
        return self.result()

    def best_distance_to_human(self) -> float | None:
        """EPIC-style distance of the best reward to the task's human reward (0: the same
        reward up to scale and shaping, 1: opposite), on the run's random transitions."""
        path = self.task.baselines.human
        if self.elite is None or path is None:
            return None
        novelty = self.database.novelty
        critic = Critic(self.critic.sandbox, self.critic.space, novelty.transitions, self.critic.limits)
        values = []
        for code in (self.task.resolve(path).read_text(),
                     self.store.path(self.elite.record.directory, "reward.py").read_text()):
            verdict = critic.check_code(code)
            if verdict.reward_values is None:
                return None
            values.append(novelty.canonical(verdict.reward_values))
        if any(v is None for v in values):
            return None
        return round(reward_distance(values[0], values[1]), 4)

    def prompts_for_generation(self) -> list[IslandPrompt]:
        """One prompt per island; pending feedback and a person's chosen parent go to all."""
        feedback, self.pending_feedback = self.pending_feedback, []
        chosen, self.chosen_parent = self.chosen_parent, None
        return [self.island_prompt(island, chosen, feedback) for island in range(self.settings.islands)]

    def island_prompt(self, island: int, chosen: Elite | None, feedback: list[str]) -> IslandPrompt:
        """The island's best as parent, its other elites, and the best that migrated in."""
        parent = chosen or self.island_elites.get(island)
        if parent is None:
            return IslandPrompt(island, self.prompts.initial_messages(), None, feedback)
        shown = self.settings.elites_in_prompt
        others = [p for p in self.database.elites(shown, island) if p.record.id != parent.record.id]
        others = others[: max(0, shown - 1)]
        seen = {parent.record.id} | {p.record.id for p in others}
        others += [p for p in self.database.immigrants(island, 1) if p.record.id not in seen]
        messages = self.prompts.reflection_messages(parent.reply, parent.reflection, feedback, others)
        return IslandPrompt(island, messages, parent.record.id, feedback, parent.reply)

    def run_iteration(self, iteration: int) -> None:
        self.emit("generation_started", iteration=iteration)
        prompts = self.prompts_for_generation()
        session = self.runner.session(self._training_progress, overlap=self.settings.overlap)
        designed: list[Designed] = []
        finished: dict[str, TrainOutcome] = {}
        variants: dict[str, list[Variant]] = {}

        def enqueue(item: Designed) -> None:
            designed.append(item)
            if item.code is None or not self.is_novel(item):
                return
            done = self.finished_outcome(item.record)
            if done is not None:
                finished[item.record.id] = done
                return
            variants[item.record.id] = variants_of(item.record.id, item.code, self.settings.constant_variants)
            session.submit(CandidateCode(item.record.id, item.code, self.store.path(item.record.directory)),
                           *(CandidateCode(variant.id, variant.code,
                                           self.store.path(item.record.directory, "variants", str(k)))
                             for k, variant in enumerate(variants[item.record.id])))
            self.emit("training_submitted", candidate=item.record.id, variants=len(variants[item.record.id]))

        for index in range(self.settings.samples):
            if self.budget.exhausted:
                break
            enqueue(self.design(iteration, index, prompts[index % len(prompts)]))
        edits_per_island = max(1, self.settings.edits // len(prompts)) if self.settings.edits else 0
        for prompt in prompts:
            for item in self.structural_edits(iteration, len(designed), prompt, edits_per_island):
                enqueue(item)
        if self.settings.with_baselines and iteration == 0:
            session.submit(*self.baseline_candidates())
        accepted = [d for d in designed if d.code is not None and d.record.status != "duplicate"]
        self.emit("training_started", iteration=iteration,
                  candidates=[d.record.id for d in accepted if d.record.id not in finished])
        fresh = {o.candidate_id: o for o in session.results()}
        if session.populations:
            self.emit("populations_trained", populations=session.populations)
        best_here: Elite | None = None
        best_of_island: dict[int, Elite] = {}
        for item in accepted:
            outcome = finished.get(item.record.id) or fresh[item.record.id]
            tuning = self.pick_variant(item, outcome, variants.get(item.record.id, []), fresh)
            if tuning is not None:
                outcome = tuning.outcome
            reflection = self.record_training(item.record, outcome, announce=item.record.id in fresh, tuning=tuning)
            self.database.add(item.record, item.code or "")
            if outcome.ok:
                self.database.pool.add_from_dir(item.record.id, self.store.path(item.record.directory))
            here = Elite(item.record, item.reply, reflection)
            if self.better(item.record.fitness, best_here.record.fitness if best_here else None):
                best_here = here
            island_best = best_of_island.get(item.record.island)
            if self.better(item.record.fitness, island_best.record.fitness if island_best else None):
                best_of_island[item.record.island] = here
        episodes = self.use_pool()
        self.emit("trajectory_pool", rollouts=len(self.database.pool.rollouts), episodes=episodes)
        for candidate_id, outcome in fresh.items():
            if candidate_id.startswith("baseline-"):
                name = candidate_id.removeprefix("baseline-")
                self.baselines[name] = outcome.fitness
                self.emit("baseline_trained", baseline=name, fitness=outcome.fitness)
        for elite in best_of_island.values():
            self.update_island_elite(elite)
        if best_here and self.better(best_here.record.fitness, self.elite.record.fitness if self.elite else None):
            self.elite = best_here
            self.store.write_text("best/reward.py", read_reward(self.store.path(best_here.record.directory),
                                                                best_here.record.reward_sha256))
            self.emit("new_best", candidate=best_here.record.id, fitness=best_here.record.fitness)
        self.migrate(iteration)
        summary = IterationSummary(
            iteration=iteration, candidates=len(designed), accepted=len(accepted),
            best_candidate=best_here.record.id if best_here else None,
            best_fitness=best_here.record.fitness if best_here else None)
        self.iterations.append(summary)
        self.emit("generation_finished", **summary.model_dump())

    def update_island_elite(self, elite: Elite) -> None:
        island = elite.record.island
        current = self.island_elites.get(island)
        if self.better(elite.record.fitness, current.record.fitness if current else None):
            self.island_elites[island] = elite

    def migrate(self, iteration: int) -> None:
        """Every `migration_interval` generations, each island's best joins the next island's
        prompts (a ring), so good ideas spread while the islands keep their own lineages."""
        islands = self.settings.islands
        if islands < 2 or (iteration + 1) % self.settings.migration_interval:
            return
        for migration in self.database.migrate(iteration, islands):
            self.emit("migration", **migration.model_dump())

    def person_generation(self, code: str, reply: str) -> CandidateRecord:
        """A generation of one candidate a person wrote: the critic's static checks and the
        sandboxed probe apply as to any candidate (not the LLM review or the novelty filter:
        the person chose this reward on purpose); it trains in the sandbox and may become the best."""
        iteration = len(self.iterations)
        candidate_id, directory = f"i{iteration}-c0", self.store.candidate_dir(iteration, 0)
        parent = self.elite.record.id if self.elite else None
        self.emit("generation_started", iteration=iteration, person=True)
        self.store.write_text(f"{directory}/reply.md", reply)
        self.store.write_text(f"{directory}/reward.py", code)
        verdict = self.critic.check_code(code)
        self.write_critic(directory, verdict, [{"attempt": 0, "reply": "reply.md", **verdict.to_json()}])
        self.emit("critic_verdict", candidate=candidate_id, attempt=0, accepted=verdict.accepted,
                  stage=verdict.stage, problems=verdict.problems)
        record = CandidateRecord(id=candidate_id, iteration=iteration, index=0, parent_id=parent,
                                 directory=directory, status="trained" if verdict.accepted else "rejected",
                                 components=verdict.components, problems=verdict.problems,
                                 reward_sha256=reward_sha256(code))
        if verdict.accepted:
            self.emit("training_started", iteration=iteration, candidates=[candidate_id])
            (outcome,) = self.runner.train([CandidateCode(candidate_id, code, self.store.path(directory))],
                                           self._training_progress)
            reflection = self.record_training(record, outcome)
            self.database.add(record, code)
            self.update_island_elite(Elite(record, reply, reflection))
            if self.better(record.fitness, self.elite.record.fitness if self.elite else None):
                self.elite = Elite(record, reply, reflection)
                self.store.write_text("best/reward.py", code)
                self.emit("new_best", candidate=candidate_id, fitness=record.fitness)
        else:
            self.store.write_json(f"{directory}/candidate.json", record)
        trained = record.status == "trained" and record.fitness is not None
        summary = IterationSummary(iteration=iteration, candidates=1, accepted=int(verdict.accepted),
                                   best_candidate=candidate_id if trained else None,
                                   best_fitness=record.fitness if trained else None)
        self.iterations.append(summary)
        self.emit("generation_finished", **summary.model_dump())
        return record

    def _training_progress(self, candidate_id: str, step: int, total: int) -> None:
        if self.listener:
            self.listener("training_progress", {"candidate": candidate_id, "step": step, "total": total})

    def is_novel(self, item: Designed) -> bool:
        """Skip training a candidate that is the same as one already evaluated in this run."""
        values = item.verdict.reward_values
        base = len(self.database.novelty.transitions)
        values = values[:base] if values is not None and len(values) >= base else None
        verdict = self.database.novelty.judge(item.code or "", values)
        if verdict.novel:
            self.database.novelty.remember(item.record.id, item.code or "", values)
            return True
        self.filters[verdict.kind or "duplicate"] += 1
        item.record.status = "duplicate"
        item.record.duplicate_of = verdict.other
        item.record.problems = [verdict.detail]
        self.store.write_json(f"{item.record.directory}/candidate.json", item.record)
        self.emit("duplicate_skipped", candidate=item.record.id, kind=verdict.kind, other=verdict.other,
                  detail=verdict.detail)
        return False

    def ask(self, purpose: str, messages: list[Message], candidate_id: str,
            expect_code: bool = True) -> tuple[Completion, str]:
        if purpose in self.replay:  # paid for before the run was interrupted
            return self.replay[purpose], "replayed"
        self.watch_generation(candidate_id)
        settings = self.settings.generation
        if self.spec_mode is not None and expect_code:
            settings = self.spec_mode.generation_settings(settings)  # JSON under the task's schema
            expect_code = False
        prefill = expect_code and getattr(self.client, "supports_prefill", False)
        if prefill:
            # A model we run ourselves starts right at the code and stops at its closing
            # fence: no rambling preamble eats the token budget (measured with the 1.5B model).
            messages = messages + [Message("assistant", CODE_PREFILL)]
            settings = replace(settings, stop=("```",))
        try:
            completion = self.client.complete(messages, settings)
        except LLMError as exc:
            self.emit("llm_failed", candidate=candidate_id, error=str(exc))
            raise
        if prefill:
            completion = replace(completion, text=CODE_PREFILL + completion.text.rstrip() + "\n```\n")
        self.budget.charge(completion)
        return completion, self.store.record_llm_call(purpose, messages, completion)

    def watch_generation(self, candidate_id: str) -> None:
        """Show tokens/s while a local model generates (clients with an on_progress hook)."""
        if not hasattr(self.client, "on_progress") or self.listener is None:
            return
        last = [0.0]

        def progress(tokens: int, tokens_per_s: float) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.5 and self.listener:
                last[0] = now
                self.listener("llm_progress", {"candidate": candidate_id, "tokens": tokens,
                                               "tokens_per_s": tokens_per_s})

        self.client.on_progress = progress

    def design(self, iteration: int, index: int, prompt: IslandPrompt) -> Designed:
        """Ask for one candidate of `prompt`'s island, repairing it up to max_repairs times."""
        messages = prompt.messages
        candidate_id = f"i{iteration}-c{index}"
        directory = self.store.candidate_dir(iteration, index)
        if self.store.path(directory, "candidate.json").is_file():  # finished before an interruption
            record = CandidateRecord.model_validate(self.store.read_json(f"{directory}/candidate.json"))
            if record.status == "rejected":
                return Designed(record, None, self.store.path(directory, "reply.md").read_text(),
                                CriticVerdict("extract", record.problems))
        attempts: list[dict[str, Any]] = []
        reply, code, verdict, llm_file = "", None, CriticVerdict("extract", ["no reply"]), ""
        for attempt in range(self.settings.max_repairs + 1):
            if attempt:
                if self.budget.exhausted:
                    break
                messages = self.prompts.repair_messages(messages, reply, verdict.problems)
                self.emit("repair_sent", candidate=candidate_id, attempt=attempt, problems=verdict.problems)
            purpose = f"{candidate_id}:{'design' if attempt == 0 else f'repair{attempt}'}"
            completion, llm_file = self.ask(purpose, messages, candidate_id)
            reply = completion.text
            self.store.write_text(f"{directory}/reply_attempt{attempt}.md", reply)
            self.store.write_text(f"{directory}/reply.md", reply)
            self.emit("llm_reply", candidate=candidate_id, attempt=attempt, llm_file=llm_file,
                      completion_tokens=completion.completion_tokens, latency_s=round(completion.latency_s, 2))
            if self.spec_mode is not None:
                code, verdict = self.spec_mode.check_reply(self.critic, reply)
            else:
                code, verdict = self.critic.check_reply(reply)
            if code is not None:
                self.store.write_text(f"{directory}/reward.py", code)
            if verdict.accepted and self.settings.llm_review and code is not None:
                verdict = self.review(candidate_id, attempt, code, verdict)
            attempts.append({"attempt": attempt, "reply": f"reply_attempt{attempt}.md", **verdict.to_json()})
            self.emit("critic_verdict", candidate=candidate_id, attempt=attempt, accepted=verdict.accepted,
                      stage=verdict.stage, problems=verdict.problems)
            if verdict.stage == "ranking" and llm_file != "replayed":
                self.filters["ranking"] += 1  # a training the pre-filter saved
            if verdict.accepted:
                break
        self.write_critic(directory, verdict, attempts)
        record = CandidateRecord(id=candidate_id, iteration=iteration, index=index, parent_id=prompt.parent,
                                 directory=directory, status="trained" if verdict.accepted else "rejected",
                                 components=verdict.components, problems=verdict.problems,
                                 feedback=prompt.feedback, island=prompt.island,
                                 reward_sha256=None if code is None else reward_sha256(code))
        if not verdict.accepted:
            self.store.write_json(f"{directory}/candidate.json", record)
        return Designed(record, code if verdict.accepted else None, reply, verdict)

    def structural_edits(self, iteration: int, first_index: int, prompt: IslandPrompt, count: int) -> list[Designed]:
        """Structured mode: one-step structural edits of the parent's spec (a flipped direction,
        another quantity, ...), made by eureka and checked like any candidate, so that the
        generation trains the fix of a wrong sign even when the model picks another edit."""
        if self.spec_mode is None or prompt.parent is None or prompt.parent_reply is None or count <= 0:
            return []
        from eureka.design.spec import structural_edits

        spec = self.spec_mode.spec_of(prompt.parent_reply)
        if spec is None:
            return []
        seed = (self.settings.seed or 0) * 1_000 + iteration
        items: list[Designed] = []
        for offset, edit in enumerate(structural_edits(spec, self.spec_mode.vocabulary, count, seed)):
            index = first_index + offset
            candidate_id, directory = f"i{iteration}-c{index}", self.store.candidate_dir(iteration, index)
            reply = edit.spec.dumps()
            code, verdict = self.spec_mode.check_reply(self.critic, reply)
            self.store.write_text(f"{directory}/reply.md", reply)
            if code is not None:
                self.store.write_text(f"{directory}/reward.py", code)
            self.write_critic(directory, verdict, [{"attempt": 0, "reply": "reply.md", **verdict.to_json()}],
                              edit=edit.description)
            record = CandidateRecord(id=candidate_id, iteration=iteration, index=index, parent_id=prompt.parent,
                                     directory=directory, status="trained" if verdict.accepted else "rejected",
                                     components=verdict.components, problems=verdict.problems,
                                     feedback=prompt.feedback, edit=edit.description, island=prompt.island,
                                     reward_sha256=None if code is None else reward_sha256(code))
            if not verdict.accepted:
                self.store.write_json(f"{directory}/candidate.json", record)
            if verdict.stage == "ranking":
                self.filters["ranking"] += 1
            self.emit("edit_designed", candidate=candidate_id, edit=edit.description, accepted=verdict.accepted,
                      stage=verdict.stage, problems=verdict.problems)
            items.append(Designed(record, code if verdict.accepted else None, reply, verdict))
        return items

    def write_critic(self, directory: str, verdict: CriticVerdict, attempts: list[dict[str, Any]],
                     **extra: Any) -> None:
        """critic.json of a candidate: the final verdict and every attempt's."""
        self.store.write_json(f"{directory}/critic.json", {
            "accepted": verdict.accepted, "stage": verdict.stage, "problems": verdict.problems,
            "components": verdict.components, "ranking": verdict.ranking, **extra, "attempts": attempts})

    def review(self, candidate_id: str, attempt: int, code: str, verdict: CriticVerdict) -> CriticVerdict:
        """The LLM critic pass: a semantic review against the task text before training."""
        completion, _ = self.ask(f"{candidate_id}:review{attempt}", self.prompts.review_messages(code), candidate_id,
                                 expect_code=False)
        review = parse_review(completion.text)
        self.emit("llm_review", candidate=candidate_id, attempt=attempt, accepted=review.accepted,
                  reasons=review.reasons)
        verdict.review = review.reasons if review.reasons else ["accepted"]
        if not review.accepted:
            verdict.stage = "review"
            verdict.problems = [f"a reviewer found: {reason}" for reason in review.reasons]
            self.filters["review"] += 1
        return verdict

    def finished_outcome(self, record: CandidateRecord) -> TrainOutcome | None:
        """The outcome of a candidate a previous (killed) attempt at this run already trained."""
        if not self.store.path(record.directory, "metrics.json").is_file():
            return None
        return TrainOutcome.model_validate(self.store.read_json(f"{record.directory}/metrics.json")["outcome"])

    def pick_variant(self, item: Designed, base: TrainOutcome, variants: list[Variant],
                     outcomes: dict[str, TrainOutcome]) -> "Tuning | None":
        """The best of a candidate and its constant variants; a winning variant becomes the candidate."""
        if not variants:
            return None
        rows = [{"id": item.record.id, "label": "as written", "constants": {}, "fitness": base.fitness}]
        best_code, best_outcome, best_label = item.code, base, "as written"
        for variant in variants:
            outcome = outcomes.get(variant.id)
            fitness = outcome.fitness if outcome else None
            rows.append({"id": variant.id, "label": variant.label, "constants": variant.constants, "fitness": fitness})
            if outcome is not None and self.better(fitness, best_outcome.fitness):
                best_code, best_outcome, best_label = variant.code, outcome, variant.label
        if best_label != "as written":
            self.store.write_text(f"{item.record.directory}/reward_as_written.py", item.code or "")
            self.store.write_text(f"{item.record.directory}/reward.py", best_code or "")
            item.record.reward_sha256 = reward_sha256(best_code or "")
            item.code = best_code
        winner = TrainOutcome(candidate_id=item.record.id, members=best_outcome.members)
        summary = (f"Constant tuning tried {len(variants)} variants of the named constants: "
                   f"{'the reward as written stayed best' if best_label == 'as written' else 'won: ' + best_label} "
                   f"(task score {_fmt(winner.fitness)} vs {_fmt(base.fitness)} as written).")
        self.emit("constants_tuned", candidate=item.record.id, winner=best_label, fitness=winner.fitness,
                  base_fitness=base.fitness)
        return Tuning(winner, rows, best_label, summary)

    def record_training(self, record: CandidateRecord, outcome: TrainOutcome, announce: bool = True,
                        tuning: "Tuning | None" = None) -> Reflection:
        reflection = reflect(outcome, self.task.fitness)
        if tuning is not None:
            reflection = Reflection(reflection.text + "\n\n" + tuning.summary, reflection.checkpoints,
                                    reflection.advice)
        record.fitness = outcome.fitness
        record.fitness_per_seed = [m.fitness for m in outcome.members]
        record.status = "trained" if outcome.ok else "failed"
        if not outcome.ok:
            record.problems = [m.error for m in outcome.members if m.error]
        self.store.write_json(f"{record.directory}/metrics.json", {
            "candidate": record.id, "fitness": outcome.fitness, "outcome": outcome,
            "reflection": reflection.text,
            "constant_tuning": None if tuning is None else {"winner": tuning.winner, "variants": tuning.rows}})
        self.store.write_json(f"{record.directory}/candidate.json", record)
        if announce:
            self.emit("candidate_trained", candidate=record.id, status=record.status, fitness=record.fitness,
                      errors=record.problems)
        return reflection

    def baseline_candidates(self) -> list[CandidateCode]:
        out = []
        for name in ("human", "sparse"):
            path = getattr(self.task.baselines, name)
            if path is not None and name not in self.baselines:
                out.append(CandidateCode(f"baseline-{name}", self.task.resolve(path).read_text()))
        return out
