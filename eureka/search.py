"""The search loop: iterations x samples of design -> critic -> train -> reflect.

The loop receives its collaborators (LLM client, critic, training runner, run store,
prompt builder) and talks to the outside only through `emit` (events.jsonl plus an
optional listener such as the terminal UI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from eureka.analysis import Reflection, reflect
from eureka.critic import Critic, CriticVerdict
from eureka.llm.base import Completion, GenerationSettings, LLMClient, LLMError, Message
from eureka.prompts import PromptBuilder
from eureka.store import RunStore, library_versions, RUN_FORMAT_VERSION
from eureka.task import TaskSpec
from eureka.training.base import TrainOutcome
from eureka.training.runner import CandidateCode, TrainingRunner

Listener = Callable[[str, dict[str, Any]], None]
CandidateStatus = Literal["rejected", "trained", "failed"]


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

    def to_json(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "samples": self.samples, "max_repairs": self.max_repairs,
                "sandbox": self.sandbox, "with_baselines": self.with_baselines,
                "temperature": self.generation.temperature, "max_tokens": self.generation.max_tokens}

    @classmethod
    def from_json(cls, data: dict[str, Any], model: str) -> "SearchSettings":
        return cls(iterations=data["iterations"], samples=data["samples"], max_repairs=data["max_repairs"],
                   generation=GenerationSettings(temperature=data["temperature"], max_tokens=data["max_tokens"]),
                   model=model, sandbox=data["sandbox"], with_baselines=data.get("with_baselines", False))


@dataclass
class Elite:
    record: CandidateRecord
    reply: str
    reflection: Reflection


@dataclass
class RunResult:
    store: RunStore
    iterations: list[IterationSummary]
    best: CandidateRecord | None
    baselines: dict[str, float | None] = field(default_factory=dict)
    reached_target: bool = False


class Search:
    def __init__(self, task: TaskSpec, client: LLMClient, critic: Critic, runner: TrainingRunner,
                 store: RunStore, prompts: PromptBuilder, settings: SearchSettings,
                 listener: Listener | None = None, indexer: Callable[[RunStore], None] | None = None) -> None:
        self.task = task
        self.client = client
        self.critic = critic
        self.runner = runner
        self.store = store
        self.prompts = prompts
        self.settings = settings
        self.listener = listener
        self.iterations: list[IterationSummary] = []
        self.elite: Elite | None = None
        self.baselines: dict[str, float | None] = {}
        self.indexer = indexer
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
        best = run.get("best")
        if best:
            self.elite = self.load_elite(best["directory"])
        self.replay = self.store.recorded_replies()

    def load_elite(self, directory: str) -> Elite:
        record = CandidateRecord.model_validate(self.store.read_json(f"{directory}/candidate.json"))
        metrics = self.store.read_json(f"{directory}/metrics.json")
        outcome = TrainOutcome.model_validate(metrics["outcome"])
        reflection = reflect(outcome, self.task.fitness)
        return Elite(record, self.store.path(directory, "reply.md").read_text(), reflection)

    def add_feedback(self, feedback: list[str], kind: str = "text") -> None:
        """Human feedback that the next generation's prompt carries (as quoted text)."""
        self.pending_feedback.extend(feedback)
        self.feedback_log.append({"kind": kind, "text": list(feedback), "before_iteration": len(self.iterations),
                                  "parent": self.elite.record.id if self.elite else None})

    # -- outside world -------------------------------------------------------------
    def emit(self, kind: str, **data: Any) -> None:
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
            "task": self.task.model_dump(mode="json"),
            "task_path": str(self.task.path) if self.task.path else None,
            "model": self.settings.model,
            "settings": self.settings.to_json(),
            "feedback": self.feedback_log,
            "versions": library_versions(),
            "iterations": self.iterations,
            "baselines": self.baselines,
            "best": None if best is None else {
                "candidate": best.id, "fitness": best.fitness, "directory": best.directory,
                "reward": "best/reward.py"},
        })

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
                    self.emit("target_reached", fitness=self.elite.record.fitness if self.elite else None)
                    break
        except BaseException as exc:
            self.write_run_json("failed" if not isinstance(exc, KeyboardInterrupt) else "stopped")
            self.emit("run_failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self.write_run_json("finished")
        self.index()
        best = self.elite.record if self.elite else None
        self.emit("run_finished", best=best.id if best else None, fitness=best.fitness if best else None)
        return RunResult(self.store, self.iterations, best, self.baselines, self.reached_target())

    def run_iteration(self, iteration: int) -> None:
        self.emit("generation_started", iteration=iteration)
        feedback, self.pending_feedback = self.pending_feedback, []
        if self.elite is None:
            messages, parent = self.prompts.initial_messages(), None
        else:
            messages = self.prompts.reflection_messages(self.elite.reply, self.elite.reflection, feedback)
            parent = self.elite.record.id
        designed = [self.design(iteration, j, messages, parent) for j in range(self.settings.samples)]
        accepted = [(rec, code, reply) for rec, code, reply in designed if code is not None]
        outcomes = self.finished_outcomes(accepted)
        to_train = [CandidateCode(rec.id, code, self.store.path(rec.directory))
                    for rec, code, _ in accepted if rec.id not in outcomes]
        if self.settings.with_baselines and iteration == 0:
            to_train += [c for c in self.baseline_candidates() if c.id.removeprefix("baseline-") not in self.baselines]
        self.emit("training_started", iteration=iteration, candidates=[c.id for c in to_train])
        trained = self.runner.train(to_train, lambda cid, step, total: self.listener and self.listener(
            "training_progress", {"candidate": cid, "step": step, "total": total}))
        fresh = {o.candidate_id for o in trained}
        outcomes.update({o.candidate_id: o for o in trained})
        best_here: Elite | None = None
        for record, code, reply in accepted:
            outcome = outcomes[record.id]
            reflection = self.record_training(record, outcome, announce=record.id in fresh)
            if self.better(record.fitness, best_here.record.fitness if best_here else None):
                best_here = Elite(record, reply, reflection)
        for name in list(self.baselines_to_record(outcomes)):
            self.baselines[name] = outcomes[f"baseline-{name}"].fitness
            self.emit("baseline_trained", baseline=name, fitness=self.baselines[name])
        if best_here and self.better(best_here.record.fitness, self.elite.record.fitness if self.elite else None):
            self.elite = best_here
            self.store.write_text("best/reward.py", self.store.path(best_here.record.directory, "reward.py").read_text())
            self.emit("new_best", candidate=best_here.record.id, fitness=best_here.record.fitness)
        summary = IterationSummary(
            iteration=iteration, candidates=len(designed), accepted=len(accepted),
            best_candidate=best_here.record.id if best_here else None,
            best_fitness=best_here.record.fitness if best_here else None)
        self.iterations.append(summary)
        self.emit("generation_finished", **summary.model_dump())

    def design(self, iteration: int, index: int, messages: list[Message],
               parent: str | None) -> tuple[CandidateRecord, str | None, str]:
        """Ask for one candidate, repairing it up to max_repairs times; returns (record, code, reply)."""
        candidate_id = f"i{iteration}-c{index}"
        directory = self.store.candidate_dir(iteration, index)
        attempts: list[dict[str, Any]] = []
        reply, code, verdict = "", None, CriticVerdict("extract", ["no reply"])
        if self.store.path(directory, "candidate.json").is_file():  # finished before an interruption
            record = CandidateRecord.model_validate(self.store.read_json(f"{directory}/candidate.json"))
            if record.status == "rejected":
                return record, None, self.store.path(directory, "reply.md").read_text()
        for attempt in range(self.settings.max_repairs + 1):
            if attempt:
                messages = self.prompts.repair_messages(messages, reply, verdict.problems)
                self.emit("repair_sent", candidate=candidate_id, attempt=attempt, problems=verdict.problems)
            purpose = f"{candidate_id}:{'design' if attempt == 0 else f'repair{attempt}'}"
            if purpose in self.replay:  # paid for before the run was interrupted
                completion, llm_file = self.replay[purpose], "replayed"
            else:
                try:
                    completion = self.client.complete(messages, self.settings.generation)
                except LLMError as exc:
                    self.emit("llm_failed", candidate=candidate_id, error=str(exc))
                    raise
                llm_file = self.store.record_llm_call(purpose, messages, completion)
            reply = completion.text
            self.store.write_text(f"{directory}/reply.md", reply)
            if attempt:
                self.store.write_text(f"{directory}/reply_attempt{attempt}.md", reply)
            else:
                self.store.write_text(f"{directory}/reply_attempt0.md", reply)
            self.emit("llm_reply", candidate=candidate_id, attempt=attempt, llm_file=llm_file,
                      completion_tokens=completion.completion_tokens, latency_s=round(completion.latency_s, 2))
            code, verdict = self.critic.check_reply(reply)
            if code is not None:
                self.store.write_text(f"{directory}/reward.py", code)
            attempts.append({"attempt": attempt, "reply": f"reply_attempt{attempt}.md", **verdict.to_json()})
            self.emit("critic_verdict", candidate=candidate_id, attempt=attempt, accepted=verdict.accepted,
                      stage=verdict.stage, problems=verdict.problems)
            if verdict.accepted:
                break
        self.store.write_json(f"{directory}/critic.json", {
            "accepted": verdict.accepted, "stage": verdict.stage, "problems": verdict.problems,
            "components": verdict.components, "attempts": attempts})
        record = CandidateRecord(id=candidate_id, iteration=iteration, index=index, parent_id=parent,
                                 directory=directory, status="rejected" if not verdict.accepted else "trained",
                                 components=verdict.components, problems=verdict.problems)
        if not verdict.accepted:
            self.store.write_json(f"{directory}/candidate.json", record)
        return record, (code if verdict.accepted else None), reply

    def finished_outcomes(self, accepted: list[tuple[CandidateRecord, str, str]]) -> dict[str, TrainOutcome]:
        """Outcomes of candidates a previous (killed) attempt at this run already trained."""
        done = {}
        for record, code, _ in accepted:
            metrics = self.store.path(record.directory, "metrics.json")
            if metrics.is_file():
                done[record.id] = TrainOutcome.model_validate(self.store.read_json(f"{record.directory}/metrics.json")["outcome"])
        return done

    def record_training(self, record: CandidateRecord, outcome: TrainOutcome, announce: bool = True) -> Reflection:
        reflection = reflect(outcome, self.task.fitness)
        record.fitness = outcome.fitness
        record.fitness_per_seed = [m.fitness for m in outcome.members]
        record.status = "trained" if outcome.ok else "failed"
        if not outcome.ok:
            record.problems = [m.error for m in outcome.members if m.error]
        self.store.write_json(f"{record.directory}/metrics.json", {
            "candidate": record.id, "fitness": outcome.fitness, "outcome": outcome,
            "reflection": reflection.text})
        self.store.write_json(f"{record.directory}/candidate.json", record)
        if announce:
            self.emit("candidate_trained", candidate=record.id, status=record.status, fitness=record.fitness,
                      errors=record.problems)
        return reflection

    # -- baselines -------------------------------------------------------------------
    def baseline_candidates(self) -> list[CandidateCode]:
        out = []
        for name in ("human", "sparse"):
            path = getattr(self.task.baselines, name)
            if path is not None:
                out.append(CandidateCode(f"baseline-{name}", self.task.resolve(path).read_text()))
        return out

    def baselines_to_record(self, outcomes: dict[str, TrainOutcome]) -> list[str]:
        return [cid.removeprefix("baseline-") for cid in outcomes if cid.startswith("baseline-")]

