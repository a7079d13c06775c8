"""What a generation does with training outcomes: metrics.json and candidate.json of a trained
candidate, a killed run's finished outcomes, the baselines, and the best reward's distance
to the human one."""

from __future__ import annotations

from eureka.critic.checks import Critic
from eureka.critic.novelty import reward_distance
from eureka.design.designer import Emit
from eureka.loop.database import ProgramDatabase
from eureka.loop.reflect import Reflection, reflect
from eureka.loop.tune import Tuning
from eureka.rundir.integrity import read_reward
from eureka.rundir.records import Candidate, EventKind, Metrics
from eureka.rundir.store import RunStore
from eureka.task import TaskSpec
from eureka.training.base import TrainOutcome
from eureka.training.runner import CandidateCode


def record_training(store: RunStore, emit: Emit, task: TaskSpec, record: Candidate, outcome: TrainOutcome,
                    announce: bool = True, tuning: Tuning | None = None) -> Reflection:
    """Score the candidate from its outcome, reflect on it, and write its metrics and record."""
    reflection = reflect(outcome, task.fitness)
    if tuning is not None:
        reflection = Reflection(reflection.text + "\n\n" + tuning.summary, reflection.checkpoints,
                                reflection.advice)
    record.fitness = outcome.fitness
    record.fitness_per_seed = [m.fitness for m in outcome.members]
    record.jobs = outcome.jobs
    record.status = "trained" if outcome.ok else "failed"
    if not outcome.ok:
        record.problems = [m.error for m in outcome.members if m.error]
    store.write_metrics(record.directory, Metrics(
        candidate=record.id, fitness=outcome.fitness, outcome=outcome, reflection=reflection.text,
        constant_tuning=None if tuning is None else tuning.record))
    store.write_candidate(record)
    if announce:
        emit(EventKind.CANDIDATE_TRAINED, candidate=record.id, status=record.status, fitness=record.fitness,
             errors=record.problems)
    return reflection


def finished_outcome(store: RunStore, record: Candidate) -> TrainOutcome | None:
    """The outcome of a candidate a previous (killed) attempt at this run already trained."""
    if not store.path(record.directory, "metrics.json").is_file():
        return None
    return store.read_metrics(record.directory).outcome


def baseline_candidates(task: TaskSpec, trained: dict[str, float | None]) -> list[CandidateCode]:
    """The task's human and sparse rewards not yet trained in this run."""
    out = []
    for name in ("human", "sparse"):
        path = getattr(task.baselines, name)
        if path is not None and name not in trained:
            out.append(CandidateCode(f"baseline-{name}", task.resolve(path).read_text()))
    return out


def distance_to_human(task: TaskSpec, critic: Critic, database: ProgramDatabase, best_code: str) -> float | None:
    """EPIC-style distance of the best reward to the task's human reward (0: the same
    reward up to scale and shaping, 1: opposite), on the run's random transitions."""
    path = task.baselines.human
    if path is None:
        return None
    novelty = database.novelty
    probe = Critic(critic.sandbox, critic.space, novelty.transitions, critic.limits)
    values = []
    for code in (task.resolve(path).read_text(), best_code):
        verdict = probe.check_code(code)
        if verdict.reward_values is None:
            return None
        values.append(novelty.canonical(verdict.reward_values))
    if any(v is None for v in values):
        return None
    return round(reward_distance(values[0], values[1]), 4)


def record_baselines(store: RunStore, emit: Emit, fresh: dict[str, TrainOutcome],
                     baselines: dict[str, float | None]) -> None:
    """The human and sparse baselines among `fresh` outcomes: their fitness, and their per-seed
    results kept in baselines/<name>.json (with the first error when one failed)."""
    for candidate_id, outcome in fresh.items():
        if not candidate_id.startswith("baseline-"):
            continue
        name = candidate_id.removeprefix("baseline-")
        baselines[name] = outcome.fitness
        store.write_json(f"baselines/{name}.json", outcome.model_dump(mode="json"))
        errors = [member.error for member in outcome.members if member.error]
        emit(EventKind.BASELINE_TRAINED, baseline=name, fitness=outcome.fitness,
             error=errors[0] if errors and outcome.fitness is None else None)


def write_best(store: RunStore, record: Candidate) -> None:
    """best/reward.py: the new best's reward.py, read back only if it is what the host wrote."""
    store.write_text("best/reward.py", read_reward(store.path(record.directory), record.reward_sha256))
