"""What the loop writes into a run directory, as typed records (the run-directory contract).

    run.json                  Run
    events.jsonl              one Event per line (kinds: EventKind)
    iter_<i>/cand_<j>/        candidate.json (Candidate), critic.json (Critic), metrics.json (Metrics)

Field names are the file's keys: readers (views, the runs index, export) read the same files.
Adding a field to run.json: add it to `Run` here and set it where the loop builds its Run.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eureka.executor.records import JobRecord
from eureka.training.base import TrainOutcome

CandidateStatus = Literal["rejected", "duplicate", "trained", "failed"]
RunStatus = Literal["running", "finished", "failed", "stopped", "waiting"]
# who wrote a candidate: the model as a structured spec or as free-form code, eureka's own
# structural edit of a spec, or a person (refine); None in files from before the field
DesignerName = Literal["spec", "code", "edit", "person"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventKind(StrEnum):
    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    RUN_FAILED = "run_failed"
    RUN_WAITING = "run_waiting"  # the LLM provider is down: resumable
    TARGET_REACHED = "target_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    GENERATION_STARTED = "generation_started"
    GENERATION_FINISHED = "generation_finished"
    LLM_REPLY = "llm_reply"
    LLM_FAILED = "llm_failed"
    LLM_RETRY = "llm_retry"  # one failed attempt of a call, retried
    LLM_GAVE_UP = "llm_gave_up"  # the last failed attempt of a call
    BUDGET_REFUSED = "budget_refused"  # a call not sent: it could pass the budget
    LLM_REVIEW = "llm_review"
    LLM_PROGRESS = "llm_progress"  # the listener only, not events.jsonl
    REPAIR_SENT = "repair_sent"
    CRITIC_VERDICT = "critic_verdict"
    EDIT_DESIGNED = "edit_designed"
    DUPLICATE_SKIPPED = "duplicate_skipped"
    TRAINING_SUBMITTED = "training_submitted"
    TRAINING_STARTED = "training_started"
    TRAINING_PROGRESS = "training_progress"  # the listener only, not events.jsonl
    POPULATIONS_TRAINED = "populations_trained"
    CANDIDATE_TRAINED = "candidate_trained"
    CONSTANTS_TUNED = "constants_tuned"
    BASELINE_TRAINED = "baseline_trained"
    TRAJECTORY_POOL = "trajectory_pool"
    NEW_BEST = "new_best"
    MIGRATION = "migration"
    INDEX_PROBLEMS = "index_problems"
    JOB_FINISHED = "job_finished"  # a job on a cluster (eureka.executor): where it ran, how long it queued
    JOB_FAILED = "job_failed"
    JOB_LOST = "job_lost"  # its node died: run again elsewhere
    TRACKING_FAILED = "tracking_failed"  # an experiment tracker (--log) stopped; the run goes on without it


class Event(BaseModel):
    """One line of events.jsonl: when, what, and the kind's own fields."""

    model_config = ConfigDict(extra="allow")

    time: float = Field(default_factory=time.time)
    event: EventKind


class Candidate(_Record):
    """candidate.json"""

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
    jobs: list[JobRecord] = Field(default_factory=list)  # where its training ran (eureka.executor)
    reward_sha256: str | None = None  # of reward.py as the host wrote it (eureka.rundir.integrity)
    designer: DesignerName | None = None  # who wrote it (None: files from before the field)


class CriticAttempt(_Record):
    """One reply's verdict (the first design, then each repair)."""

    attempt: int
    reply: str  # the reply file, relative to the candidate's directory
    accepted: bool
    stage: str
    problems: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    sandbox_verdict: str | None = None
    sandbox_detail: str | None = None
    probe_seconds: float | None = None
    ranking: str | None = None
    review: list[str] | None = None
    fixes: list[str] = Field(default_factory=list)


class Critic(_Record):
    """critic.json: the final verdict and every attempt's."""

    accepted: bool
    stage: str
    problems: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    ranking: str | None = None
    edit: str | None = None  # written only for a structural edit
    attempts: list[CriticAttempt] = Field(default_factory=list)

    def file_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"edit"} if self.edit is None else set())


class VariantRow(_Record):
    id: str
    label: str
    constants: dict[str, float]
    fitness: float | None


class ConstantTuning(_Record):
    winner: str
    variants: list[VariantRow]


class Metrics(_Record):
    """metrics.json: the training outcome and the reflection the next prompt quotes."""

    candidate: str
    fitness: float | None
    outcome: TrainOutcome
    reflection: str
    constant_tuning: ConstantTuning | None = None


class Migration(_Record):
    """The best of one island, copied into the next island's prompts as an elite."""

    after_iteration: int
    candidate: str
    from_island: int
    to_island: int


class IterationSummary(_Record):
    iteration: int
    candidates: int
    accepted: int
    best_candidate: str | None
    best_fitness: float | None


class IslandBest(_Record):
    island: int
    best_candidate: str
    best_fitness: float | None


class BestCandidate(_Record):
    candidate: str
    fitness: float | None
    directory: str
    reward: str = "best/reward.py"
    designer: DesignerName | None = None  # who wrote the best reward (None: files from before the field)


class FeedbackEntry(_Record):
    kind: str
    text: list[str]
    before_iteration: int
    parent: str | None


class Run(_Record):
    """run.json; `settings` is the run's RunConfig (eureka.config), as a dict so that old
    files (with fewer settings) still load here and are resolved by RunConfig.from_run."""

    format_version: int
    run_id: str
    status: RunStatus
    stop_reason: str = "completed"
    task: dict[str, Any]
    task_path: str | None = None
    model: str
    settings: dict[str, Any]
    versions: dict[str, str] = Field(default_factory=dict)
    usage: dict[str, Any] = Field(default_factory=dict)
    filters: dict[str, int] = Field(default_factory=dict)
    filters_finished: dict[str, int] | None = None  # as of the last finished generation (None: older files)
    best_distance_to_human: float | None = None
    islands: list[IslandBest] = Field(default_factory=list)
    migrations: list[Migration] = Field(default_factory=list)
    feedback: list[FeedbackEntry] = Field(default_factory=list)
    iterations: list[IterationSummary] = Field(default_factory=list)
    baselines: dict[str, float | None] = Field(default_factory=dict)
    best: BestCandidate | None = None
