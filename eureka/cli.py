"""The command line: a thin layer over eureka.app. Exit codes: 0 ok, 1 failure, 2 bad input,
3 waiting (the LLM provider is down: `eureka resume` the run later)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eureka.config import TRACKERS
from eureka.executor.records import EXECUTOR_CHOICES
from eureka.sandbox import SANDBOX_CHOICES

EXECUTOR_OPTION = click.option("--executor", type=click.Choice(EXECUTOR_CHOICES),
                               help="where jobs run: this machine, or a Ray cluster (default: the task file's, local)")
RAY_ADDRESS_OPTION = click.option("--ray-address", help="the Ray cluster: auto or ray://HOST:10001 "
                                  "(default: the task file's executor.address, auto)")

LOG_OPTION = click.option("--log", "log", multiple=True, type=click.Choice([*TRACKERS, "none"]),
                          help="also write each candidate's training curves and the best per generation to "
                               "TensorBoard (RUN_DIR/tensorboard) or MLflow ($MLFLOW_TRACKING_URI, else "
                               "RUN_DIR/mlflow.db); repeat for both; none: no tracker")


def trackers(log: tuple[str, ...]) -> list[str] | None:
    """--log's trackers (None: not given); `none` alone turns tracking off."""
    if not log:
        return None
    if "none" in log and len(set(log)) > 1:
        raise BadInput("--log none cannot be combined with a tracker")
    return [kind for kind in dict.fromkeys(log) if kind != "none"]


class BadInput(click.ClickException):
    exit_code = 2


class Failure(click.ClickException):
    exit_code = 1


class Waiting(click.ClickException):
    exit_code = 3


@click.group()
@click.version_option(package_name="eureka")
def cli() -> None:
    """eureka: an LLM writes reward functions; eureka checks, trains, reflects and repeats."""


@cli.command()
@click.argument("task_file", type=click.Path(path_type=Path))
@click.option("--model", help="litellm model string, scripted:DIR, or local[:PATH] (default: task file, "
              "then $EUREKA_MODEL, then the embedded local model)")
@click.option("--iterations", type=click.IntRange(min=1), help="generations (default: the task file's)")
@click.option("--samples", type=click.IntRange(min=1), help="candidates per generation (default: the task file's)")
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="where generated code runs (default: auto)")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--with-baselines", is_flag=True, help="also train the task's human and sparse rewards")
@click.option("--max-tokens", type=click.IntRange(min=1), help="stop cleanly once the LLM used this many tokens")
@click.option("--max-cost", type=click.FloatRange(min=0), help="stop cleanly once the LLM cost this many USD")
@click.option("--review/--no-review", default=None,
              help="LLM critic pass before training (default: on for API models)")
@click.option("--overlap/--no-overlap", default=None,
              help="train accepted candidates while the next ones are designed (default: on for API "
                   "and scripted models, off for the embedded model, which shares the cores with training)")
@click.option("--tune", "constant_variants", type=click.IntRange(min=0),
              help="constant-tuning variants trained beside each candidate (default: 4 on jax, 0 on gymnasium)")
@click.option("--mode", type=click.Choice(["code", "spec"]),
              help="free-form reward code, or a structured reward spec (default: spec for the embedded model)")
@click.option("--selection/--no-selection", default=True, show_default=True,
              help="semantic checks before training: reject rewards that are constant on sampled transitions "
                   "or rank failing episodes above better ones")
@click.option("--edits", type=click.IntRange(min=0),
              help="structural edits of the parent spec trained per generation (structured mode; default: 4)")
@click.option("--code-share", type=click.FloatRange(0, 1),
              help="structured mode: this share of each generation's samples is free-form code, checked and "
                   "auto-repaired by the critic, beside the specs (default: the task file's, else 0)")
@click.option("--tune-best/--no-tune-best", default=None,
              help="structured mode: when the last generation misses the target, one more generation trains "
                   "the best spec with one weight or width a level up or down (default: on where --tune is 0)")
@click.option("--seed", type=int, help="sampling seed of the embedded model (a reproducible run)")
@click.option("--islands", type=click.IntRange(min=1),
              help="sub-populations with their own parents, exchanging their best every "
                   "search.migration_interval generations (default: the task file's, 1)")
@click.option("--timesteps", type=click.IntRange(min=1),
              help="training steps per policy (default: the task file's training.timesteps)")
@click.option("--llm-timeout", type=click.FloatRange(min=0, min_open=True),
              help="seconds one request to the LLM provider may take (default: the task's llm.timeout_s, 120)")
@click.option("--llm-deadline", type=click.FloatRange(min=0, min_open=True),
              help="seconds one LLM call may take with all its retries (default: the task's llm.deadline_s, 900)")
@click.option("--allow-path", "allow_paths", multiple=True, type=click.Path(path_type=Path),
              help="a file or folder outside the task's folder that its baseline paths may point into")
@EXECUTOR_OPTION
@RAY_ADDRESS_OPTION
@LOG_OPTION
def run(task_file: Path, model, iterations, samples, sandbox, runs_dir: Path, with_baselines: bool,
        max_tokens, max_cost, review, overlap, constant_variants, mode, selection: bool, edits, code_share, tune_best,
        seed, islands, timesteps, llm_timeout, llm_deadline, allow_paths, executor, ray_address, log) -> None:
    """Design rewards for TASK_FILE (a task YAML, or the name of a shipped task: see `eureka tasks`)."""
    from eureka.app import start_run
    from eureka.config import RunConfig
    from eureka.resources import task_path
    from eureka.task import TaskError
    from eureka.task_check import checked_task
    from eureka.views.console import RunConsole

    log = trackers(log)
    try:
        task = checked_task(task_path(task_file), allow_paths, model, max_cost, timeout_s=llm_timeout,
                            deadline_s=llm_deadline)
    except TaskError as exc:
        raise BadInput(str(exc)) from None
    if timesteps:
        task = task.model_copy(update={"training": task.training.model_copy(update={"timesteps": timesteps})})
    if model and model.startswith("scripted:") and not Path(model.split(":", 1)[1]).is_dir():
        raise BadInput(f"--model {model}: {model.split(':', 1)[1]} is not a directory")
    if sandbox == "none" or (sandbox is None and task.sandbox == "none"):
        click.secho("WARNING: --sandbox none runs generated code UNSANDBOXED (trusted debugging only)",
                    fg="red", err=True)
    ui = RunConsole()
    config = RunConfig.resolve(task, model=model, iterations=iterations, samples=samples, sandbox=sandbox,
                               with_baselines=with_baselines, max_tokens=max_tokens, max_cost_usd=max_cost,
                               review=review, overlap=overlap, constant_variants=constant_variants, mode=mode,
                               selection=selection, edits=edits, seed=seed, islands=islands,
                               executor=executor, ray_address=ray_address, log=log, code_share=code_share,
                               tune_best=tune_best)
    _drive(lambda: start_run(task, config, runs_dir, listener=ui), ui)


def _drive(start, ui) -> None:
    """Run a search to its end; map what can go wrong to exit codes, then print the summary."""
    from eureka.design.llm.base import LLMError, ProviderUnavailable
    from eureka.envs.user import EnvCodeError
    from eureka.sandbox.base import SandboxError
    from eureka.rundir.store import RunStoreError
    from eureka.views.tracking import TrackingUnavailable

    try:
        result = start()
    except (RunStoreError, TrackingUnavailable) as exc:
        raise BadInput(str(exc)) from None
    except ProviderUnavailable as exc:
        raise Waiting(f"{exc}\nthe run is waiting (status: waiting); continue it with: "
                      f"eureka resume {exc.run_directory or 'RUN_DIR'}") from None
    except (SandboxError, LLMError, EnvCodeError) as exc:
        raise Failure(str(exc)) from None
    except KeyboardInterrupt:
        raise Failure("interrupted; everything finished so far is in the run directory") from None
    ui.summary(result)
    if result.best is None:
        raise Failure("no candidate reward was trained successfully")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="override the run's sandbox")
@EXECUTOR_OPTION
@RAY_ADDRESS_OPTION
@LOG_OPTION
def resume(run_dir: Path, sandbox, executor, ray_address, log) -> None:
    """Continue a killed or stopped run: finished candidates are reused, the rest redone."""
    from eureka.app import resume_run, run_status
    from eureka.rundir.store import RunStoreError
    from eureka.views.console import RunConsole

    log = trackers(log)
    try:
        status = run_status(run_dir)
    except RunStoreError as exc:
        raise BadInput(str(exc)) from None
    if status == "finished":
        click.echo(f"{run_dir}: the run is finished; nothing to resume")
        return
    ui = RunConsole()
    _drive(lambda: resume_run(run_dir, listener=ui, sandbox=sandbox, executor=executor, ray_address=ray_address,
                              log=log), ui)


@cli.command("runs")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--task", help="only runs of this task (its name)")
@click.option("--status", help="only runs with this status (running, finished, failed, stopped)")
@click.option("--reindex", is_flag=True, help="rebuild the index from every run directory (the files are the truth)")
def runs_command(runs_dir: Path, task, status, reindex: bool) -> None:
    """List the runs of RUNS_DIR (from RUNS_DIR/index.sqlite, refreshed first), best first."""
    import sqlite3

    from rich.console import Console
    from rich.markup import escape

    from eureka.views.index import RunIndex, default_index_path, runs_table
    from eureka.rundir.store import RunStoreError

    if not runs_dir.is_dir():
        raise BadInput(f"{runs_dir}: no such runs directory")
    try:
        with RunIndex(default_index_path(runs_dir)) as index:
            report = index.reindex(runs_dir) if reindex else index.refresh(runs_dir)
            rows = index.runs(task=task, status=status)
    except (RunStoreError, sqlite3.Error) as exc:
        raise Failure(f"runs index: {exc}") from None
    errors = Console(stderr=True)
    for problem in report.problems:
        errors.print(f"[yellow]not indexed:[/] {escape(problem)}", highlight=False)
    if reindex:
        errors.print(f"reindexed {len(report.indexed)} run(s)" + (f", {len(report.problems)} problem(s)"
                                                                  if report.problems else ""))
    if not rows:
        click.echo("no runs" + (" match" if task or status else f" in {runs_dir}"))
        return
    console = Console()
    console.print(runs_table(rows, title=f"runs in {runs_dir}", width=console.width))


@cli.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="export directory (default: RUN_DIR/export/<candidate id>)")
@click.option("--candidate", help="the candidate id to export (default: the run's best)")
@click.option("--verify", is_flag=True, help="re-run the critic probe on the exported reward and re-train one seed "
              "in the sandbox; exit 1 unless the recorded fitness is reproduced (within 10%, at least one "
              "evaluation episode for a success rate, or both reach the task's target)")
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES),
              help="where --verify runs the reward (default: the task's, else auto)")
@EXECUTOR_OPTION
@RAY_ADDRESS_OPTION
def export_command(run_dir: Path, output, candidate, verify: bool, sandbox, executor, ray_address) -> None:
    """Export a run's best reward (reward.py, wrapper.py, manifest.json; isaac_reward.py and
    isaac_task.py instead of wrapper.py for an isaacgym task) as a self-contained directory."""
    from eureka.executor.local import ExecutorSpec, make_executor
    from eureka.export import ExportError, export_candidate, read_manifest, verify_export
    from eureka.sandbox.base import SandboxError

    try:
        result = export_candidate(run_dir, output, candidate)
    except ExportError as exc:
        raise BadInput(str(exc)) from None
    fitness = "-" if result.fitness is None else f"{result.fitness:.6g}"
    click.echo(f"exported {result.candidate_id} of {result.run_id} (fitness {fitness}) to {result.directory}")
    for name in [*result.files, "manifest.json"]:
        click.echo(f"  {result.directory / name}")
    if not verify:
        return
    name = sandbox or read_manifest(result.directory)["task"].get("sandbox", "auto")
    if name == "none":
        click.secho("WARNING: --sandbox none runs generated code UNSANDBOXED (trusted debugging only)",
                    fg="red", err=True)
    try:
        spec = ExecutorSpec.model_validate(read_manifest(result.directory)["task"].get("executor") or {})
        spec = spec.model_copy(update={"kind": executor or spec.kind, "address": ray_address or spec.address})
        outcome = verify_export(result.directory, make_executor(spec, name),
                                progress=lambda m: click.echo(f"verify: {m}"))
    except SandboxError as exc:
        raise Failure(str(exc)) from None
    for check in outcome.checks:
        click.echo(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not outcome.ok:
        raise Failure(f"verification of {result.directory} failed")
    click.echo(f"verified: fitness {outcome.recorded_fitness:.6g} reproduced as {outcome.retrained_fitness:.6g} "
               f"(seed {outcome.seed})")


@cli.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="HTML file (default: RUN_DIR/report.html)")
def report_command(run_dir: Path, output) -> None:
    """Write a static, offline HTML report of a run: best code, charts, candidates, reflections."""
    from eureka.views.report import write_report
    from eureka.rundir.store import RunStoreError

    try:
        path = write_report(run_dir, output)
    except RunStoreError as exc:
        raise BadInput(str(exc)) from None
    click.echo(str(path))


@cli.command("refine")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--feedback", "feedback_file", type=click.Path(path_type=Path),
              help="take the rounds from this YAML/JSON file instead of the terminal: a list of rounds, each "
              "'text: ...', 'ranking: [ids best first]' or 'reward_file: path' (see eureka/views/refine.py)")
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="override the run's sandbox")
@click.option("--show", type=click.IntRange(min=1, max=20), default=4, show_default=True,
              help="how many elites (best trained candidates) to show")
def refine_command(run_dir: Path, feedback_file, sandbox, show: int) -> None:
    """Steer RUN_DIR with your feedback: text, a ranking of its elites, or your own reward; then the
    next generation runs. Repeats until you quit (or the --feedback rounds are done)."""
    from rich.console import Console

    from eureka.views.refine import FeedbackError, RefineBusy, RefineSession, TerminalRefine, load_feedback_file
    from eureka.design.llm.base import LLMError
    from eureka.sandbox.base import SandboxError
    from eureka.rundir.store import RunStoreError
    from eureka.views.console import RunConsole
    from eureka.views.tracking import TrackingUnavailable

    console = Console(stderr=True)
    try:
        session = RefineSession(run_dir, sandbox=sandbox, listener=RunConsole(console), shown=show)
        effective = sandbox or (session.run_json().get("settings") or {}).get("sandbox")
        rounds = load_feedback_file(feedback_file) if feedback_file else None
    except (RunStoreError, FeedbackError) as exc:
        raise BadInput(str(exc)) from None
    if rounds is None and not sys.stdin.isatty():
        raise BadInput("stdin is not a terminal: give the feedback rounds with --feedback FILE")
    if effective == "none":
        click.secho("WARNING: --sandbox none runs generated code UNSANDBOXED (trusted debugging only)",
                    fg="red", err=True)
    terminal = TerminalRefine(session, console)
    rejected = 0
    try:
        if rounds is None:
            terminal.loop()
            return
        for number, feedback in enumerate(rounds, 1):
            terminal.show_elites()
            console.print(f"[bold]round {number}/{len(rounds)}[/]: {feedback.kind} feedback from {feedback_file}")
            result = session.apply(feedback, source=f"file:{feedback_file}")
            terminal.report(result)
            rejected += result.status == "rejected"
        terminal.show_elites()
    except (FeedbackError, TrackingUnavailable) as exc:
        raise BadInput(str(exc)) from None
    except (RefineBusy, SandboxError, LLMError, RunStoreError) as exc:
        raise Failure(str(exc)) from None
    except KeyboardInterrupt:
        raise Failure("interrupted; everything finished so far is in the run directory") from None
    if rejected:
        raise Failure(f"{rejected} of your reward(s) could not be used (see above and {run_dir}/feedback/)")


@cli.command("serve")
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="the runs directory to show")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind (anything but loopback exposes your runs and the feedback actions)")
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), default="auto", show_default=True,
              help="where generations started from the browser check and train rewards")
def serve_command(runs_dir: Path, port: int, host: str, sandbox: str) -> None:
    """A web dashboard of the runs: fitness, lineage, code diffs, curves, videos, and feedback."""
    from eureka.sandbox import make_sandbox
    from eureka.sandbox.base import SandboxError

    if not runs_dir.is_dir():
        raise BadInput(f"{runs_dir}: no such runs directory")
    try:
        from eureka.views.web import serve
    except ImportError as exc:
        raise BadInput(f"the web dashboard needs fastapi, uvicorn and python-multipart ({exc}); "
                       "pip install 'eureka[web]'") from None
    if sandbox == "none":
        click.secho("WARNING: --sandbox none: generations started from the browser run generated code "
                    "UNSANDBOXED (trusted debugging only)", fg="red", err=True)
    try:
        make_sandbox(sandbox)
    except SandboxError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"eureka: serving {runs_dir} at http://{host}:{port}/ (Ctrl-C stops)", err=True)
    serve(runs_dir, host=host, port=port, sandbox=sandbox)


@cli.command("tasks")
def tasks_command() -> None:
    """List the tasks shipped with eureka (`eureka run NAME` runs one)."""
    from eureka.resources import shipped_tasks

    for task in shipped_tasks():
        click.echo(f"{task.name:<18} {task.summary}\n{'':<18} {task.path}")


@cli.command("init")
@click.argument("env_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("task.yaml"), show_default=True)
@click.option("--backend", type=click.Choice(["gymnasium", "jax"]), help="default: jax for gymnax ids")
@click.option("--force", is_flag=True, help="overwrite OUTPUT")
def init_command(env_id: str, output: Path, backend, force: bool) -> None:
    """Write a task file for ENV_ID (a registered id or module:Class) from the env's own spaces."""
    from eureka.envs.user import EnvCodeError
    from eureka.envs.scaffold import inspect_env, render_task

    if output.exists() and not force:
        raise BadInput(f"{output} exists (--force overwrites it)")
    if str(output.parent.resolve()) not in sys.path:
        sys.path.append(str(output.parent.resolve()))  # a module beside the task file
    try:
        facts = inspect_env(env_id, backend)
    except (EnvCodeError, ImportError, AttributeError, ValueError, TypeError) as exc:
        raise BadInput(f"cannot build {env_id}: {type(exc).__name__}: {exc}") from None
    output.write_text(render_task(facts))
    click.echo(f"wrote {output}: edit what says TODO, then `eureka check {output}`")


@cli.command("check")
@click.argument("task_file", type=click.Path(path_type=Path))
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="where the env is built (default: the task's)")
@click.option("--steps", type=click.IntRange(min=1), default=4000, show_default=True,
              help="random-policy steps inside the sandbox")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="train the task's baselines briefly and show their fitness")
@click.option("--baseline-steps", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="training steps of each baseline")
@click.option("--mode", type=click.Choice(["code", "spec"]), default="code", show_default=True,
              help="which first prompt to show")
def check_command(task_file: Path, sandbox, steps: int, baselines: bool, baseline_steps: int, mode: str) -> None:
    """Is TASK_FILE ready for a run? Builds the env in the sandbox, runs random episodes, shows what the
    designer will see and the first prompt. No LLM call. Exit 2 with the reasons when something is wrong."""
    from rich.console import Console

    from eureka.check import check_task, show
    from eureka.resources import task_path
    from eureka.task import TaskError, load_task

    try:
        task = load_task(task_path(task_file))
    except TaskError as exc:
        raise BadInput(str(exc)) from None
    report = check_task(task, sandbox, steps, baseline_steps if baselines else 0, mode)
    show(report, task, Console(soft_wrap=True))
    if not report.ok:
        raise BadInput(f"{task_file}: {len(report.problems)} problem(s), see above")
    click.echo(f"{task_file}: ready (`eureka run {task_file}`)")


@cli.group()
def sandbox() -> None:
    """Build and check the sandboxes generated code runs in."""


@sandbox.command("build")
def sandbox_build() -> None:
    """Build the offline Docker image (host Python bind-mounted read-only)."""
    from eureka.sandbox.base import SandboxError
    from eureka.sandbox.images import build_offline_image

    try:
        built = build_offline_image()
    except SandboxError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"built {built.tag} ({built.image_id[:19]}) in {built.seconds:.1f} s")


@sandbox.command("check")
def sandbox_check() -> None:
    """Run a trivial reward probe in each backend and report what works."""
    from rich.console import Console
    from rich.table import Table

    from eureka.sandbox.images import check_sandboxes

    checks = check_sandboxes()
    table = Table("backend", "works", "latency", "detail")
    for check in checks:
        latency = f"{check.latency_s:.2f} s" if check.latency_s is not None else "-"
        table.add_row(check.backend, "yes" if check.ok else "no", latency, check.detail)
    Console().print(table)
    if not any(c.ok for c in checks):
        raise Failure("no sandbox backend works here: run sandboxes/setup.sh as root")


@sandbox.command("clean")
def sandbox_clean() -> None:
    """Remove containers left behind by a killed eureka process."""
    from eureka.sandbox.docker import remove_stale_containers

    removed = remove_stale_containers()
    click.echo(f"removed {removed} stale container(s)")


@cli.command("bench")
@click.argument("tasks", nargs=-1)
@click.option("--tasks", "suite", help="a suite of tasks/suites.toml (e.g. cpu)")
@click.option("--model", help="as for `eureka run`")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="fresh seeds each of the best, human and sparse rewards trains on")
@click.option("--budget", type=click.Choice(["small", "paper"]), default="small", show_default=True,
              help="search budget: the task file's, or Eureka's 5 generations of 16 samples")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/bench"), show_default=True,
              help="bench directory (a killed bench continues here)")
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="where generated code runs (default: auto)")
@LOG_OPTION
def bench(tasks, suite, model, seeds: int, budget: str, out: Path, sandbox, log) -> None:
    """Search, then train the best, human and sparse rewards of TASKS on fresh seeds: the
    human-normalized score per task, bench.json and a plot per task in --out."""
    from eureka.bench import Bench, BenchError, BenchOptions, resolve_tasks
    from eureka.task import TaskError
    from eureka.views.bench import print_bench
    from eureka.views.tracking import TrackingUnavailable, require

    log = trackers(log)
    try:
        paths = resolve_tasks(list(tasks), suite)
    except BenchError as exc:
        raise BadInput(str(exc)) from None
    if model and model.startswith("scripted:") and not Path(model.split(":", 1)[1]).is_dir():
        raise BadInput(f"--model {model}: {model.split(':', 1)[1]} is not a directory")
    options = BenchOptions(model=model, seeds=seeds, budget=budget, out=out, sandbox=sandbox, trackers=log)
    try:
        require(options.trackers or [])
        result = Bench(options, log=lambda line: click.echo(line, err=True)).run(paths)
    except (TaskError, TrackingUnavailable) as exc:
        raise BadInput(str(exc)) from None
    print_bench(result)
    click.echo(f"{out / 'bench.json'}")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SystemExit as exc:
        # click's usage errors exit with 2 already; keep every other code as is.
        sys.exit(exc.code)
