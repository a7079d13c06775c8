"""Wiring: build the collaborators of a run from a task and the user's options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eureka.critic.checks import Critic
from eureka.envs import sample_transitions, space_info
from eureka.design.llm import make_client, resolve_model
from eureka.design.llm.base import GenerationSettings
from eureka.design.prompts import PromptBuilder
from eureka.executor import Executor, ExecutorSpec, make_executor
from eureka.sandbox import SandboxLimits
from eureka.loop.search import Listener, RunResult, Search, SearchSettings
from eureka.rundir.store import RunStore, RunStoreError
from eureka.task import TaskSpec, task_from_dict
from eureka.training.runner import TrainingRunner

PROBE_TRANSITIONS = 2048  # whole random-policy episodes for the probe, novelty and pre-filter


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    iterations: int | None = None
    samples: int | None = None
    sandbox: str | None = None
    runs_dir: Path = Path("runs")
    with_baselines: bool = False
    workers: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    review: bool | None = None
    overlap: bool | None = None
    constant_variants: int | None = None
    mode: str | None = None
    selection: bool = True
    seed: int | None = None
    edits: int | None = None
    islands: int | None = None
    executor: str | None = None  # local | ray (default: the task file's executor.kind)
    ray_address: str | None = None


def executor_spec(task: TaskSpec, settings: SearchSettings) -> ExecutorSpec:
    return task.executor.model_copy(update={"kind": settings.executor,
                                            "address": settings.ray_address or task.executor.address})


def build_search(task: TaskSpec, store: RunStore, settings: SearchSettings,
                 listener: Listener | None = None, workers: int | None = None,
                 executor: Executor | None = None) -> Search:
    sandbox = executor or make_executor(executor_spec(task, settings), settings.sandbox)
    client = make_client(settings.model, seed=settings.seed)
    space = space_info(task.env)
    transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
    spec_mode, prompts = None, PromptBuilder(task, space)
    if settings.mode == "spec":
        from eureka.design.prompts import SpecPromptBuilder
        from eureka.design.spec import SpecMode

        spec_mode = SpecMode.for_task(task, space, transitions, semantic_checks=settings.selection)
        prompts = SpecPromptBuilder(task, space, spec_mode)
    search = Search(
        task=task,
        client=client,
        critic=Critic(sandbox, space, transitions, probe_limits(task), fitness=task.fitness,
                      selection=settings.selection),
        runner=TrainingRunner(sandbox, task, workers=workers or os.cpu_count()),
        store=store,
        prompts=prompts,
        settings=settings,
        listener=listener,
        indexer=update_index,
        spec_mode=spec_mode,
    )
    sandbox.on_event = search.emit  # per-node activity of a cluster run
    return search


def probe_limits(task: TaskSpec) -> SandboxLimits:
    """JAX alone takes ~330 MB and tracing plus a jitted call some seconds under load."""
    if task.env.backend == "jax":
        return SandboxLimits(timeout_s=180.0, memory_mb=2048)
    return SandboxLimits(timeout_s=60.0, memory_mb=1024)


def update_index(store: RunStore) -> None:
    """Keep the runs index beside the runs up to date (the files stay the source of truth).

    A run never fails because of its index: problems become an event.
    """
    from eureka.rundir.index import update_index as index_run

    problems = index_run(store.directory)
    if problems:
        store.event("index_problems", problems=problems)


def review_enabled(cli: bool | None, task: bool | None, model: str) -> bool:
    """The LLM critic pass: on by default with API models; the small local model and
    scripted replies skip it unless asked (a 1.5B model is no reliable critic)."""
    if cli is not None:
        return cli
    if task is not None:
        return task
    return not (model == "local" or model.startswith(("local:", "scripted:")))


def design_mode(cli: str | None, task: str | None, model: str) -> str:
    """Free-form code for capable models; a structured spec for the small embedded one, which
    chooses well among options but writes useless free-form rewards (see eureka/design/spec.py)."""
    if cli is not None:
        return cli
    if task is not None:
        return task
    return "spec" if model == "local" or model.startswith("local:") else "code"


def default_variants(cli: int | None, task: TaskSpec) -> int:
    """Constant tuning is nearly free inside a JAX population; on the gymnasium backend
    each variant is one more training process, so it is off unless asked for."""
    if cli is not None:
        return cli
    if task.search.constant_variants is not None:
        return task.search.constant_variants
    return 4 if task.env.backend == "jax" else 0


def overlap_enabled(cli: bool | None, model: str) -> bool:
    """Design the next candidates while earlier ones train: on for API models (the LLM's time is
    waiting: 1.33x measured on the gymnasium backend), off for the embedded model, whose
    generation competes with training for the same cores (0.78x measured on 2 cores)."""
    if cli is not None:
        return cli
    return not (model == "local" or model.startswith("local:"))


def default_edits(cli: int | None, task: TaskSpec, mode: str) -> int:
    """Structural edits of the parent spec beside the model's children: structured mode only
    (free-form code has no spec to edit)."""
    if mode != "spec":
        return 0
    if cli is not None:
        return cli
    return task.search.edits if task.search.edits is not None else 4


def start_run(task: TaskSpec, options: RunOptions, listener: Listener | None = None) -> RunResult:
    model = resolve_model(options.model, task.llm.model)
    mode = design_mode(options.mode, task.llm.mode, model)
    settings = SearchSettings(
        iterations=options.iterations or task.search.iterations,
        samples=options.samples or task.search.samples,
        max_repairs=task.search.max_repairs,
        generation=GenerationSettings(temperature=task.llm.temperature, max_tokens=task.llm.max_tokens),
        model=model,
        sandbox=options.sandbox or task.sandbox,
        with_baselines=options.with_baselines,
        elites_in_prompt=task.search.elites_in_prompt,
        max_tokens=options.max_tokens,
        max_cost_usd=options.max_cost_usd,
        llm_review=review_enabled(options.review, task.llm.review, model),
        overlap=overlap_enabled(options.overlap, model),
        constant_variants=default_variants(options.constant_variants, task),
        mode=mode,
        edits=default_edits(options.edits, task, mode),
        selection=options.selection,
        seed=options.seed,
        islands=options.islands or task.search.islands,
        migration_interval=task.search.migration_interval,
        executor=options.executor or task.executor.kind,
        ray_address=options.ray_address,
    )
    # fail before a run directory exists if no sandbox (or no cluster) can run
    executor = make_executor(executor_spec(task, settings), settings.sandbox)
    store = RunStore.create(options.runs_dir, task.name)
    return build_search(task, store, settings, listener, options.workers, executor).run()


def open_run(run_dir: Path, listener: Listener | None = None, sandbox: str | None = None,
             executor: str | None = None, ray_address: str | None = None) -> Search:
    """A Search restored from a run directory, ready to continue."""
    store, run = RunStore.open(run_dir)
    try:
        task = task_from_dict(run["task"], Path(run["task_path"]) if run.get("task_path") else None)
        settings = SearchSettings.from_json(run["settings"], run["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunStoreError(f"{run_dir / 'run.json'}: unreadable run settings ({exc})") from None
    if sandbox:
        settings.sandbox = sandbox
    settings.executor = executor or settings.executor
    settings.ray_address = ray_address or settings.ray_address
    search = build_search(task, store, settings, listener)
    search.restore()
    skip = getattr(search.client, "skip", None)
    if callable(skip):  # scripted replies already consumed by the recorded calls
        skip(len(search.replay))
    return search


def run_status(run_dir: Path) -> str:
    _, run = RunStore.open(run_dir)
    return str(run.get("status"))


def resume_run(run_dir: Path, listener: Listener | None = None, sandbox: str | None = None,
               executor: str | None = None, ray_address: str | None = None) -> RunResult:
    return open_run(run_dir, listener, sandbox, executor, ray_address).run()


def continue_run(run_dir: Path, feedback: list[str], iterations: int = 1, parent: str | None = None,
                 kind: str = "text", listener: Listener | None = None, sandbox: str | None = None) -> RunResult:
    """More generations on a run, with human feedback (and optionally a chosen parent) in the prompt."""
    search = open_run(run_dir, listener, sandbox)
    if parent is not None:
        record_dir = _candidate_directory(search, parent)
        search.chosen_parent = search.load_elite(record_dir)  # the best stays the best by fitness
    search.add_feedback(feedback, kind)
    search.settings.iterations = len(search.iterations) + iterations
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
