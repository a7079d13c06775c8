"""`eureka check task.yaml`: is this task ready for a run? No LLM call is made.

It validates the file (and refuses TODOs left by `eureka init`), builds the env inside the sandbox,
runs random-policy episodes there, and collects what the designer will see: the quantities of
the observation layout with their documented ranges beside the observed ones, how episodes end,
the random policy's fitness, the baselines' fitness after a short training, and the first prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eureka.design.llm.base import Message
from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.preflight import EnvReport, EpisodeSummary
from eureka.task import TaskSpec

CHECK_STEPS = 4000  # random-policy steps inside the sandbox
BASELINE_STEPS = 20_000  # a short training of each baseline


@dataclass(frozen=True)
class QuantityRow:
    name: str
    columns: tuple[int, ...]
    documented: str
    observed: str
    mismatch: str | None


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)  # each is a reason to exit 2
    warnings: list[str] = field(default_factory=list)
    space: SpaceInfo | None = None
    quantities: list[QuantityRow] = field(default_factory=list)
    episodes: list[EpisodeSummary] = field(default_factory=list)
    random_fitness: float | None = None
    baselines: dict[str, str] = field(default_factory=dict)  # name -> fitness or why none
    prompt: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_task(task: TaskSpec, sandbox_name: str | None = None, steps: int = CHECK_STEPS,
               baseline_steps: int = BASELINE_STEPS, mode: str = "code") -> CheckReport:
    """Everything `eureka check` shows; `baseline_steps` 0 skips training the baselines."""
    from eureka.envs.preflight import build_env_in_sandbox
    from eureka.envs.scaffold import todo_fields
    from eureka.envs.user import EnvCodeError, prepare_host, user_code
    from eureka.sandbox import make_sandbox
    from eureka.sandbox.base import SandboxError

    report = CheckReport()
    report.problems += [f"{name}: still says TODO (written by eureka init): replace it"
                        for name in todo_fields(task.model_dump(mode="json", by_alias=True))]
    if task.env.backend == "isaacgym":  # nothing below can build an Isaac Gym env
        from eureka.envs.isaacgym_backend import unavailable_reason

        report.problems.append(f"env.backend: isaacgym: {unavailable_reason()}")
        return report
    try:
        prepare_host(task)
        sandbox = make_sandbox(sandbox_name or task.sandbox, user_code=user_code(task))
        env, transitions = build_env_in_sandbox(task, sandbox, steps)
    except (EnvCodeError, SandboxError) as exc:
        report.problems.append(str(exc))
        return report
    report.space = env.space
    report.episodes = env.episodes
    report.random_fitness = env.random_fitness(task.fitness)
    _episode_findings(report, env, steps)
    designed = _designer_view(report, task, env)
    if transitions is not None:
        _layout_findings(report, designed, env.space, transitions)
    if baseline_steps and (task.baselines.human or task.baselines.sparse):
        report.baselines = train_baselines(task, sandbox, baseline_steps)
    try:
        report.prompt = first_prompt(designed, env.space, transitions, mode)
    except Exception as exc:  # noqa: BLE001 - any failure to render is a finding, not a crash
        report.problems.append(f"rendering the first prompt failed: {type(exc).__name__}: {exc}")
    return report


def _episode_findings(report: CheckReport, env: EnvReport, steps: int) -> None:
    if not env.finished():
        report.warnings.append(f"no random-policy episode ended within {steps} steps: set env.max_episode_steps "
                               "(a time limit) or check that the env can end an episode")


def _designer_view(report: CheckReport, task: TaskSpec, env: EnvReport) -> TaskSpec:
    """The task with a structured observation's fields in its layout (eureka.envs.fields)."""
    from eureka.envs.fields import designer_task, field_problems

    report.problems += field_problems(task, env.obs_fields)
    return designer_task(task, env.obs_fields)


def _layout_findings(report: CheckReport, task: TaskSpec, space: SpaceInfo, transitions: Transitions) -> None:
    from eureka.design.named_state import state_problems, state_quantities
    from eureka.design.quantities import LAYOUT_LINE, derive_quantities

    text = task.context.observation
    if not text:
        report.warnings.append("context.observation is empty: the designer sees unnamed columns obs[:, i] only")
    for line in (text or "").splitlines():
        match = LAYOUT_LINE.match(line)
        stop = match and int(match.group("stop") or int(match.group("first")) + 1)
        if match and stop > space.obs_dim:
            report.problems.append(f"context.observation: {line.strip()!r} names columns beyond the observation, "
                                   f"which has {space.obs_dim}")
    observed = np.concatenate([transitions.obs, transitions.next_obs])
    broken = state_problems(task.context.state, observed, jax=space.array_module == "jax")
    report.problems += [f"context.state.{name}: {problem}" for name, problem in broken.items()]
    named = state_quantities({k: v for k, v in task.context.state.items() if k not in broken}, space.obs_dim)
    for quantity in named + derive_quantities(text, space.obs_dim, reserved=[q.name for q in named]):
        values = quantity.evaluate(observed)
        low, high = float(np.min(values)), float(np.max(values))
        mismatch = None
        if quantity.low is not None and quantity.high is not None:
            slack = 1e-6 * max(1.0, quantity.high - quantity.low)
            if low < quantity.low - slack or high > quantity.high + slack:
                mismatch = f"observed [{low:.4g}, {high:.4g}] is outside the documented {quantity.range_text}"
                report.problems.append(f"context.observation: {quantity.name} (obs[:, "
                                       f"{', '.join(map(str, quantity.columns))}]): {mismatch}")
        elif quantity.kind == "column" and quantity.meaning.endswith("(not described)"):
            report.warnings.append(f"obs[:, {quantity.columns[0]}] is not described in context.observation")
        report.quantities.append(QuantityRow(quantity.name, quantity.columns, quantity.range_text,
                                             f"[{low:.4g}, {high:.4g}]", mismatch))


def train_baselines(task: TaskSpec, sandbox, steps: int) -> dict[str, str]:
    """Each baseline trained briefly (one seed, at most `steps` steps): its fitness, or why none."""
    from eureka.training.runner import CandidateCode, TrainingRunner

    training = task.training.model_copy(update={"timesteps": min(steps, task.training.timesteps),
                                                "seeds": task.training.seeds[:1]})
    short = task.model_copy(update={"training": training})
    short._path = task.path
    candidates = [CandidateCode(f"baseline-{name}", task.resolve(getattr(task.baselines, name)).read_text())
                  for name in ("human", "sparse") if getattr(task.baselines, name) is not None]
    outcomes = TrainingRunner(sandbox, short, workers=2).train(candidates)
    found = {}
    for outcome in outcomes:
        name = outcome.candidate_id.removeprefix("baseline-")
        errors = [m.error for m in outcome.members if m.error]
        found[name] = (f"{outcome.fitness:.4g} after {training.timesteps} steps" if outcome.fitness is not None
                       else f"failed: {errors[0] if errors else 'no fitness'}")
    return found


def first_prompt(task: TaskSpec, space: SpaceInfo, transitions: Transitions | None, mode: str) -> list[Message]:
    from eureka.design.prompts import PromptBuilder, SpecPromptBuilder

    if mode == "spec":
        from eureka.design.spec import SpecMode

        return SpecPromptBuilder(task, space, SpecMode.for_task(task, space, transitions)).initial_messages()
    return PromptBuilder(task, space).initial_messages()


def _columns_text(columns: tuple[int, ...]) -> str:
    """A few columns as they are; many (a channel of a grid) as first, second, ..., last."""
    columns = tuple(sorted(set(columns))) if len(columns) > 6 else columns
    if len(columns) <= 6:
        return ", ".join(map(str, columns))
    return f"{columns[0]}, {columns[1]}, ..., {columns[-1]} ({len(columns)} columns)"


def show(report: CheckReport, task: TaskSpec, console) -> None:
    """Print a check report with rich: the space, quantities, episodes, fitness, the prompt, findings."""
    from rich.markup import escape
    from rich.table import Table

    if report.space is not None:
        console.print(f"[bold]env[/] {escape(task.env.id)} ({task.env.backend}): observation of "
                      f"{report.space.obs_dim} columns; action: {escape(report.space.describe_action())}")
    if report.quantities:
        table = Table("quantity", "columns", "documented", "observed (random policy)", "", title="what the designer sees")
        for row in report.quantities:
            table.add_row(row.name, _columns_text(row.columns), row.documented, row.observed,
                          "[red]MISMATCH[/]" if row.mismatch else "ok")
        console.print(table)
    if report.episodes:
        lengths = [e.length for e in report.episodes if e.ended_by != "cut"]
        ends = {kind: sum(e.ended_by == kind for e in report.episodes) for kind in ("termination", "time_limit", "cut")}
        length_text = (f"length min {min(lengths)}, mean {np.mean(lengths):.1f}, max {max(lengths)}" if lengths
                       else "none finished")
        console.print(f"[bold]random-policy episodes[/]: {len(lengths)} finished ({length_text}); ended by "
                      f"termination {ends['termination']}, time limit {ends['time_limit']}"
                      + (f", {ends['cut']} still running at the end" if ends["cut"] else ""))
        fitness = "-" if report.random_fitness is None else f"{report.random_fitness:.4g}"
        console.print(f"[bold]random-policy fitness[/] ({task.fitness.metric}): {fitness}"
                      + (f" (target {task.fitness.target:g})" if task.fitness.target is not None else ""))
    for name, outcome in report.baselines.items():
        console.print(f"[bold]baseline {name}[/]: {escape(outcome)}")
    for message in report.prompt:
        console.rule(f"first prompt: {message.role}")
        console.print(escape(message.content), highlight=False, soft_wrap=True)
    if report.prompt:
        console.rule()
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for problem in report.problems:
        console.print(f"[red]problem:[/] {escape(problem)}")
