"""Structured (spec) versus free-form rewards from the embedded small model: how many samples are
well-formed, how many pass the critic, how the ones that pass do when trained for real, and
what one round of reflection adds.

For each task: `--samples` structured samples (a JSON spec under the task's schema, compiled by
eureka.design.spec) and `--free-samples` free-form samples (the loop's usual prompt), each checked by
the critic as in a run (static checks, a sandboxed probe on 2,048 random-policy transitions, the
ranking pre-filter). Up to `--train` distinct accepted structured rewards, `--train-free`
free-form ones and the task's human and sparse baselines are trained with the task's own
training settings; fitness is the ground truth. Then, for `--iterations` - 1 rounds, the best
structured reward so far is reflected upon (its training record, and ready-made edits of its
spec) and `--samples` children are drawn, checked and trained the same way. Nothing here is
written for a particular task: what the model chooses is what is trained.

    python bench/offline_quality.py                                   # ~10-15 min on 2 cores
    python bench/offline_quality.py --samples 8 --free-samples 6 --train 8 --train-free 3 --iterations 3
    python bench/offline_quality.py --tasks tasks/pendulum.yaml --no-train
    python bench/offline_quality.py --model smollm2 --no-train --free-samples 0   # a dry run

Columns: "well-formed" is JSON valid against the task's spec schema (structured) or code that
passes the static checks (free-form); "runs" passed the sandboxed probe (a structured spec must
also pass the semantic checks of eureka.design.spec to compile); "passed critic" also passed the
ranking pre-filter, as a candidate must before a run trains it; "useful": trained fitness better
than the sparse baseline's by a margin (0.05 for a success rate, else 5% of the human-sparse
gap); "target": reaches the task's target. Every sample (reply, spec, verdict, fitness) is
written to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eureka.loop.reflect import reflect  # noqa: E402
from eureka.critic.checks import Critic  # noqa: E402
from eureka.envs import sample_transitions, space_info  # noqa: E402
from eureka.design.llm.base import GenerationSettings, Message  # noqa: E402
from eureka.design.llm.local import LocalClient  # noqa: E402
from eureka.design.prompts import PromptBuilder, SpecPromptBuilder  # noqa: E402
from eureka.sandbox import make_sandbox  # noqa: E402
from eureka.sandbox.base import Sandbox  # noqa: E402
from eureka.design.spec import SpecMode, parse_reply  # noqa: E402
from eureka.task import TaskSpec, load_task  # noqa: E402
from eureka.training.base import TrainOutcome  # noqa: E402
from eureka.training.runner import CandidateCode, TrainingRunner  # noqa: E402
from eureka.config import PROBE_TRANSITIONS  # noqa: E402

DEFAULT_TASKS = ("tasks/cartpole.yaml", "tasks/pendulum.yaml", "tasks/mountain_car.yaml")
Log = Callable[[str], None]


@dataclass
class Sample:
    task: str
    mode: str  # "structured" or "free"
    iteration: int
    index: int
    reply: str
    seconds: float
    completion_tokens: int
    well_formed: bool
    runs: bool  # the probe ran it on real transitions
    accepted: bool  # passed every critic stage
    stage: str
    problems: list[str]
    spec: str | None = None
    code: str | None = None
    parent: str | None = None
    fitness: float | None = None
    trained: bool = False
    train_errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.mode}-i{self.iteration}-{self.index}"


@dataclass
class TaskRun:
    task: TaskSpec
    critic: Critic
    mode: SpecMode
    samples: list[Sample] = field(default_factory=list)
    baselines: dict[str, float | None] = field(default_factory=dict)
    outcomes: dict[str, TrainOutcome] = field(default_factory=dict)

    def better(self, a: float | None, b: float | None) -> bool:
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.task.fitness.direction == "maximize" else a < b


def matches_schema(reply: str, schema: dict) -> bool:
    """JSON valid against the task's schema (what constrained decoding guarantees)."""
    import jsonschema

    data, problems = parse_reply(reply)
    if problems:
        return False
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError:
        return False
    return True


def generate(run: TaskRun, client: LocalClient, messages: list[Message], structured: bool, iteration: int,
             count: int, log: Log, parent: str | None = None) -> None:
    task, critic = run.task, run.critic
    if structured:
        settings = run.mode.generation_settings(GenerationSettings(temperature=task.llm.temperature))
    else:
        settings = GenerationSettings(temperature=task.llm.temperature, max_tokens=task.llm.max_tokens)
    for index in range(count):
        start = time.monotonic()
        completion = client.complete(messages, settings)
        seconds = time.monotonic() - start
        spec_text = None
        if structured:
            compiled = run.mode.compile_reply(completion.text)
            code, problems = compiled.code, compiled.problems
            spec_text = compiled.spec.dumps() if compiled.spec else None
            verdict = critic.check_code(code) if code is not None else None
            well_formed = matches_schema(completion.text, run.mode.schema)
        else:
            code, verdict = critic.check_reply(completion.text)
            well_formed = code is not None and verdict.stage not in ("extract", "static")
        if verdict is not None:
            problems = verdict.problems
        stage = verdict.stage if verdict is not None else "spec"
        sample = Sample(task.name, "structured" if structured else "free", iteration, index, completion.text,
                        round(seconds, 1), completion.completion_tokens, well_formed,
                        stage in ("ranking", "passed"), bool(verdict and verdict.accepted), stage, problems,
                        spec_text, code, parent)
        run.samples.append(sample)
        shown = f"\n      {spec_text.replace(chr(10), ' ')}" if spec_text else ""
        log(f"  {sample.id}: {seconds:.0f}s {completion.completion_tokens} tok, {stage}"
            + (f" ({problems[0][:110]})" if problems else "") + shown)


def train(run: TaskRun, sandbox: Sandbox, chosen: list[Sample], baselines: bool, workers: int, log: Log) -> None:
    task = run.task
    candidates = [CandidateCode(s.id, s.code or "") for s in chosen]
    if baselines:
        for name in ("human", "sparse"):
            rel = getattr(task.baselines, name)
            if rel is not None:
                candidates.append(CandidateCode(f"baseline-{name}", task.resolve(rel).read_text()))
    if not candidates:
        return
    log(f"training {len(candidates)} rewards for {task.name} ({task.env.backend}, {task.training.timesteps} steps, "
        f"seeds {task.training.seeds})")
    outcomes = {o.candidate_id: o for o in TrainingRunner(sandbox, task, workers=workers).train(candidates)}
    run.outcomes.update(outcomes)
    for sample in chosen:
        outcome = outcomes[sample.id]
        sample.trained, sample.fitness = True, outcome.fitness
        sample.train_errors = [m.error for m in outcome.members if m.error]
    for name in ("human", "sparse"):
        if f"baseline-{name}" in outcomes:
            run.baselines[name] = outcomes[f"baseline-{name}"].fitness
    log("  " + ", ".join(f"{k} {'-' if o.fitness is None else f'{o.fitness:.3g}'}" for k, o in outcomes.items()))


def to_train(run: TaskRun, samples: list[Sample], limit: int) -> list[Sample]:
    """Distinct accepted samples, never one whose code was trained before."""
    seen = {s.code for s in run.samples if s.trained}
    chosen: list[Sample] = []
    for sample in samples:
        if sample.accepted and sample.code not in seen and len(chosen) < limit:
            seen.add(sample.code)
            chosen.append(sample)
    return chosen


def useful(run: TaskRun, fitness: float | None) -> bool:
    sparse, human = run.baselines.get("sparse"), run.baselines.get("human")
    if fitness is None or sparse is None:
        return False
    sign = 1.0 if run.task.fitness.direction == "maximize" else -1.0
    if run.task.fitness.metric == "success_rate":
        return sign * (fitness - sparse) >= 0.05
    gap = abs(human - sparse) if human is not None else abs(sparse) or 1.0
    return sign * (fitness - sparse) >= 0.05 * gap


def reaches(run: TaskRun, fitness: float | None) -> bool:
    target = run.task.fitness.target
    if fitness is None or target is None:
        return False
    return fitness >= target if run.task.fitness.direction == "maximize" else fitness <= target


def table(runs: list[TaskRun]) -> str:
    head = ("| task | mode | round | samples | well-formed | runs | passed critic | trained | fitness (trained) | "
            "useful | target | sparse | human |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for run in runs:
        base = {k: "-" if v is None else f"{v:.3g}" for k, v in run.baselines.items()}
        groups = sorted({(s.mode, s.iteration) for s in run.samples}, key=lambda g: (g[0] == "free", g[1]))
        for mode, iteration in groups:
            rows = [s for s in run.samples if (s.mode, s.iteration) == (mode, iteration)]
            trained = [s for s in rows if s.trained]
            values = ", ".join("-" if s.fitness is None else f"{s.fitness:.3g}" for s in trained) or "-"
            lines.append(
                f"| {run.task.name} | {mode} | {iteration} | {len(rows)} | {sum(s.well_formed for s in rows)} | "
                f"{sum(s.runs for s in rows)} | {sum(s.accepted for s in rows)} | {len(trained)} | {values} | "
                f"{sum(useful(run, s.fitness) for s in trained)} | {sum(reaches(run, s.fitness) for s in trained)} | "
                f"{base.get('sparse', '-')} | {base.get('human', '-')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--model", default="", help="local model: '' (the default 1.5B), 'smollm2', or a .gguf path")
    parser.add_argument("--samples", type=int, default=6, help="structured samples per task and round")
    parser.add_argument("--free-samples", type=int, default=2, help="free-form samples per task (first round)")
    parser.add_argument("--train", type=int, default=4, help="accepted structured rewards trained per task and round")
    parser.add_argument("--train-free", type=int, default=1, help="accepted free-form rewards trained per task")
    parser.add_argument("--iterations", type=int, default=2, help="rounds of structured samples (reflection after the first)")
    parser.add_argument("--no-train", action="store_true", help="skip training, baselines and reflection")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "offline_quality.json")
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.monotonic()
    sandbox = make_sandbox(args.sandbox)
    client = LocalClient.from_spec(args.model, seed=args.seed)
    runs: list[TaskRun] = []
    for path in args.tasks:
        task = load_task(path)  # kept: a file edited during the benchmark does not change this run
        space = space_info(task.env)
        transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
        run = TaskRun(task, Critic(sandbox, space, transitions, fitness=task.fitness),
                      SpecMode.for_task(task, space, transitions))
        runs.append(run)
        log(f"{task.name}: {len(run.mode.quantities)} quantities ({', '.join(q.name for q in run.mode.quantities)})")
        spec_prompts = SpecPromptBuilder(task, space, run.mode)
        generate(run, client, spec_prompts.initial_messages(), True, 0, args.samples, log)
        generate(run, client, PromptBuilder(task, space).initial_messages(), False, 0, args.free_samples, log)
        if args.no_train:
            continue
        first = (to_train(run, [s for s in run.samples if s.mode == "structured"], args.train)
                 + to_train(run, [s for s in run.samples if s.mode == "free"], args.train_free))
        train(run, sandbox, first, not args.no_baselines, args.workers, log)
        for iteration in range(1, args.iterations):
            trained = [s for s in run.samples if s.mode == "structured" and s.trained and s.fitness is not None]
            best = None
            for sample in trained:
                best = sample if best is None or run.better(sample.fitness, best.fitness) else best
            if best is None:
                log(f"  no structured reward trained: no reflection for {task.name}")
                break
            reflection = reflect(run.outcomes[best.id], task.fitness)
            log(f"  round {iteration}: reflecting on {best.id} (fitness {best.fitness:.3g})")
            messages = spec_prompts.reflection_messages(best.reply, reflection)
            generate(run, client, messages, True, iteration, args.samples, log, parent=best.id)
            children = [s for s in run.samples if s.mode == "structured" and s.iteration == iteration]
            train(run, sandbox, to_train(run, children, args.train), False, args.workers, log)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "model": client.model, "seconds": round(time.monotonic() - started),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "tasks": [{"task": r.task.name, "backend": r.task.env.backend, "timesteps": r.task.training.timesteps,
                   "seeds": r.task.training.seeds, "metric": r.task.fitness.metric, "target": r.task.fitness.target,
                   "baselines": r.baselines, "quantities": [q.name for q in r.mode.quantities],
                   "samples": [{**vars(s), "id": s.id} for s in r.samples]} for r in runs]}, indent=1))
    print()
    print(table(runs))
    print(f"\n{time.monotonic() - started:.0f}s in all; samples in {args.out}")


if __name__ == "__main__":
    main()
