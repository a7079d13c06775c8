"""The command line: a thin layer over eureka.app. Exit codes: 0 ok, 1 failure, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eureka.sandbox import SANDBOX_CHOICES


class BadInput(click.ClickException):
    exit_code = 2


class Failure(click.ClickException):
    exit_code = 1


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
def run(task_file: Path, model, iterations, samples, sandbox, runs_dir: Path, with_baselines: bool) -> None:
    """Design rewards for TASK_FILE (a task YAML)."""
    from eureka.app import RunOptions, start_run
    from eureka.llm.base import LLMError
    from eureka.sandbox.base import SandboxError
    from eureka.task import TaskError, load_task
    from eureka.ui import RunConsole

    try:
        task = load_task(task_file)
    except TaskError as exc:
        raise BadInput(str(exc)) from None
    if model and model.startswith("scripted:") and not Path(model.split(":", 1)[1]).is_dir():
        raise BadInput(f"--model {model}: {model.split(':', 1)[1]} is not a directory")
    if sandbox == "none" or (sandbox is None and task.sandbox == "none"):
        click.secho("WARNING: --sandbox none runs generated code UNSANDBOXED (trusted debugging only)",
                    fg="red", err=True)
    ui = RunConsole()
    options = RunOptions(model=model, iterations=iterations, samples=samples, sandbox=sandbox,
                         runs_dir=runs_dir, with_baselines=with_baselines)
    try:
        result = start_run(task, options, listener=ui)
    except (SandboxError, LLMError) as exc:
        raise Failure(str(exc)) from None
    except KeyboardInterrupt:
        raise Failure("interrupted; everything finished so far is in the run directory") from None
    ui.summary(result)
    if result.best is None:
        raise Failure("no candidate reward was trained successfully")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--sandbox", type=click.Choice(SANDBOX_CHOICES), help="override the run's sandbox")
def resume(run_dir: Path, sandbox) -> None:
    """Continue a killed or stopped run: finished candidates are reused, the rest redone."""
    from eureka.app import resume_run, run_status
    from eureka.llm.base import LLMError
    from eureka.sandbox.base import SandboxError
    from eureka.store import RunStoreError
    from eureka.ui import RunConsole

    try:
        status = run_status(run_dir)
    except RunStoreError as exc:
        raise BadInput(str(exc)) from None
    if status == "finished":
        click.echo(f"{run_dir}: the run is finished; nothing to resume")
        return
    ui = RunConsole()
    try:
        result = resume_run(run_dir, listener=ui, sandbox=sandbox)
    except RunStoreError as exc:
        raise BadInput(str(exc)) from None
    except (SandboxError, LLMError) as exc:
        raise Failure(str(exc)) from None
    except KeyboardInterrupt:
        raise Failure("interrupted; everything finished so far is in the run directory") from None
    ui.summary(result)
    if result.best is None:
        raise Failure("no candidate reward was trained successfully")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SystemExit as exc:
        # click's usage errors exit with 2 already; keep every other code as is.
        sys.exit(exc.code)
