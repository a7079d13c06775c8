"""Wiring: build the collaborators of a run from a task and the user's options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eureka.critic import Critic
from eureka.envs import sample_transitions, space_info
from eureka.llm import make_client, resolve_model
from eureka.llm.base import GenerationSettings
from eureka.prompts import PromptBuilder
from eureka.sandbox import make_sandbox
from eureka.search import Listener, RunResult, Search, SearchSettings
from eureka.store import RunStore
from eureka.task import TaskSpec
from eureka.training.runner import TrainingRunner

PROBE_TRANSITIONS = 256


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    iterations: int | None = None
    samples: int | None = None
    sandbox: str | None = None
    runs_dir: Path = Path("runs")
    with_baselines: bool = False
    workers: int | None = None


def start_run(task: TaskSpec, options: RunOptions, listener: Listener | None = None) -> RunResult:
    model = resolve_model(options.model, task.llm.model)
    sandbox_name = options.sandbox or task.sandbox
    sandbox = make_sandbox(sandbox_name)
    client = make_client(model)
    space = space_info(task.env)
    transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
    store = RunStore.create(options.runs_dir, task.name)
    settings = SearchSettings(
        iterations=options.iterations or task.search.iterations,
        samples=options.samples or task.search.samples,
        max_repairs=task.search.max_repairs,
        generation=GenerationSettings(temperature=task.llm.temperature, max_tokens=task.llm.max_tokens),
        model=model,
        sandbox=sandbox.name,
        with_baselines=options.with_baselines,
    )
    search = Search(
        task=task,
        client=client,
        critic=Critic(sandbox, space, transitions),
        runner=TrainingRunner(sandbox, task, workers=options.workers or os.cpu_count()),
        store=store,
        prompts=PromptBuilder(task, space),
        settings=settings,
        listener=listener,
    )
    return search.run()
