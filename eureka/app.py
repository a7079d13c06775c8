"""Wiring: build the collaborators of a run from a task and its RunConfig (eureka.config)."""

from __future__ import annotations

import os
from pathlib import Path

from eureka.config import PROBE_TRANSITIONS, RunConfig
from eureka.critic.checks import Critic
from eureka.design.designer import DesignContext, make_designer
from eureka.design.llm import make_run_client
from eureka.design.llm.budget import Budget
from eureka.design.prompts import PromptBuilder
from eureka.envs import sample_transitions, space_info
from eureka.executor.local import Executor, ExecutorSpec, make_executor
from eureka.loop.replay import load_elite
from eureka.loop.search import Listener, RunResult, Search
from eureka.rundir.records import EventKind, Run
from eureka.rundir.store import RunStore, RunStoreError
from eureka.sandbox import SandboxLimits
from eureka.task import TaskSpec, task_from_dict
from eureka.training.runner import TrainingRunner
from eureka.training.trainers import trainer_for

__all__ = ["PROBE_TRANSITIONS", "build_search", "continue_run", "open_run", "probe_limits", "resume_run",
           "run_status", "start_run"]


def executor_spec(task: TaskSpec, config: RunConfig) -> ExecutorSpec:
    return task.executor.model_copy(update={"kind": config.executor,
                                            "address": config.ray_address or task.executor.address})


def build_search(task: TaskSpec, store: RunStore, config: RunConfig, listener: Listener | None = None,
                 sandbox: Executor | None = None) -> Search:
    from eureka.views.tracking import attach

    sandbox = sandbox or start_sandbox(task, config)
    listener = attach(config.log, store.directory, listener, store.event)  # --log: an observer of the events
    space = space_info(task.env)
    transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
    designed = designer_view(task)
    code_prompts = PromptBuilder(designed, space)
    spec_mode, prompts = None, code_prompts
    if config.mode == "spec":
        from eureka.design.prompts import SpecPromptBuilder
        from eureka.design.spec import SpecMode

        spec_mode = SpecMode.for_task(designed, space, transitions, semantic_checks=config.selection)
        prompts = SpecPromptBuilder(designed, space, spec_mode)
    critic = Critic(sandbox, space, transitions, probe_limits(task), fitness=task.fitness, selection=config.selection)
    client = make_run_client(config.model, task.llm, Budget(config.max_tokens, config.max_cost_usd), seed=config.seed)
    context = DesignContext(store, client.budget, listener)
    designer = make_designer(client, critic, prompts, config, context, spec_mode, code_prompts)
    search = Search(task, designer, critic, TrainingRunner(sandbox, task, workers=config.workers or os.cpu_count()),
                    config, indexer=update_index)
    client.listener = lambda kind, data: search.emit(kind, **data)  # llm_retry events
    sandbox.on_event = search.emit  # per-node activity of a cluster run
    return search


def designer_view(task: TaskSpec) -> TaskSpec:
    """The task as the designer reads it: a structured observation's fields named in its layout."""
    from eureka.envs import observation_fields
    from eureka.envs.fields import designer_task

    return designer_task(task, observation_fields(task.env))


def start_sandbox(task: TaskSpec, config: RunConfig) -> Executor:
    """Where the run's jobs run (this machine's sandbox, or a Ray cluster's), showing the task's own
    env code; the env is built there once, so an env that fails stops the run (EnvCodeError) before
    any LLM call."""
    from eureka.envs.preflight import build_env_in_sandbox
    from eureka.envs.user import prepare_host, user_code

    if task.env.backend == "isaacgym":  # eureka.run() from Python: the CLI stopped earlier (exit 2)
        from eureka.envs.isaacgym_backend import IsaacGymUnavailable, unavailable_reason

        raise IsaacGymUnavailable(unavailable_reason())
    prepare_host(task)
    executor = make_executor(executor_spec(task, config), config.sandbox, user_code=user_code(task))
    build_env_in_sandbox(task, executor)
    return executor


def task_sandbox(task: TaskSpec, name: str):
    """This machine's `name` sandbox showing the task's own env code, for work outside a run
    (the bench's final training, benchmark scripts)."""
    from eureka.envs.user import prepare_host, user_code
    from eureka.sandbox import make_sandbox

    prepare_host(task)
    return make_sandbox(name, user_code=user_code(task))


def probe_limits(task: TaskSpec) -> SandboxLimits:
    return trainer_for(task.env.backend).probe_limits


def update_index(store: RunStore) -> None:
    """Keep the runs index beside the runs up to date (the files stay the source of truth).

    A run never fails because of its index: problems become an event.
    """
    from eureka.views.index import update_index as index_run

    problems = index_run(store.directory)
    if problems:
        store.event(EventKind.INDEX_PROBLEMS, problems=problems)


def require_trackers(config: RunConfig) -> None:
    """Raise TrackingUnavailable (naming the install command) if a tracker of --log is not installed."""
    from eureka.views.tracking import require

    require(config.log)


def start_run(task: TaskSpec, config: RunConfig, runs_dir: Path = Path("runs"),
              listener: Listener | None = None) -> RunResult:
    require_trackers(config)
    executor = start_sandbox(task, config)  # no sandbox, no cluster or a broken env: fail before a run dir exists
    store = RunStore.create(runs_dir, task.name)
    return build_search(task, store, config, listener, executor).run()


def open_run(run_dir: Path, listener: Listener | None = None, sandbox: str | None = None,
             executor: str | None = None, ray_address: str | None = None, log: list[str] | None = None) -> Search:
    """A Search restored from a run directory, ready to continue; `log` replaces the run's trackers."""
    store, data = RunStore.open(run_dir)
    try:
        run = Run.model_validate(data)
        task = task_from_dict(run.task, Path(run.task_path) if run.task_path else None)
        config = RunConfig.from_run(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise RunStoreError(f"{run_dir / 'run.json'}: unreadable run settings ({exc})") from None
    if sandbox:
        config = config.model_copy(update={"sandbox": sandbox})
    config = config.model_copy(update={"executor": executor or config.executor,
                                       "ray_address": ray_address or config.ray_address})
    if log is not None:
        config = RunConfig.model_validate({**config.model_dump(), "log": list(dict.fromkeys(log))})
    require_trackers(config)
    search = build_search(task, store, config, listener)
    search.restore(run)
    skip = getattr(search.designer.client, "skip", None)
    if callable(skip):  # scripted replies already consumed by the recorded calls
        skip(len(search.context.replay))
    return search


def run_status(run_dir: Path) -> str:
    _, run = RunStore.open(run_dir)
    return str(run.get("status"))


def resume_run(run_dir: Path, listener: Listener | None = None, sandbox: str | None = None,
               executor: str | None = None, ray_address: str | None = None,
               log: list[str] | None = None) -> RunResult:
    return open_run(run_dir, listener, sandbox, executor, ray_address, log).run()


def continue_run(run_dir: Path, feedback: list[str], iterations: int = 1, parent: str | None = None,
                 kind: str = "text", listener: Listener | None = None, sandbox: str | None = None) -> RunResult:
    """More generations on a run, with human feedback (and optionally a chosen parent) in the prompt."""
    search = open_run(run_dir, listener, sandbox)
    if parent is not None:
        record_dir = _candidate_directory(search, parent)
        search.selection.chosen_parent = load_elite(search.store, record_dir, search.task.fitness)  # the best stays the best by fitness
    search.add_feedback(feedback, kind)
    search.config.iterations = len(search.iterations) + iterations
    search.config.tune_best = False  # the person's generations are the run's end: nothing trains after them
    return search.run()


def _candidate_directory(search: Search, candidate_id: str) -> str:
    try:
        iteration, index = candidate_id.removeprefix("i").split("-c")
        directory = search.store.candidate_dir(int(iteration), int(index))
    except ValueError:
        raise RunStoreError(f"{candidate_id!r} is not a candidate id (like i0-c1)") from None
    if not search.store.path(directory, "metrics.json").is_file():
        raise RunStoreError(f"candidate {candidate_id} of {search.store.directory} was not trained")
    return directory
