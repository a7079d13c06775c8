"""The isaacgym backend without Isaac Gym: task files are read and checked, and `eureka check` /
`eureka run` stop at once with exit 2 and what to install, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.envs import sample_transitions, space_info
from eureka.envs.isaacgym_backend import IsaacGymUnavailable
from eureka.task import TaskError, load_task
from eureka.training.trainers import trainer_for
from tests.helpers import ROOT

CRAWLER_TASK = ROOT / "tests" / "data" / "tasks" / "isaac_crawler.yaml"
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_numpy"


@pytest.fixture
def no_isaac(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Isaac Gym is installed, pretend it is not (the tests are about the message)."""
    monkeypatch.setattr("eureka.envs.isaacgym_backend.isaacgym_installed", lambda: False)


def variant(tmp_path: Path, **env) -> Path:
    data = yaml.safe_load(CRAWLER_TASK.read_text())
    data["env"].update(env)
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_an_isaacgym_task_file_is_read_and_checked_without_isaac_gym() -> None:
    task = load_task(CRAWLER_TASK)
    assert task.env.backend == "isaacgym" and task.env.id == "tests.data.isaac.crawler:Crawler"
    assert trainer_for("isaacgym").population is False


def test_the_id_must_name_the_vectask_class(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"env: Value error, on the isaacgym backend, id is the VecTask class as "
                                        r"'module:Class' \(e.g. isaacgymenvs.tasks.ant:Ant\), got 'Ant'"):
        load_task(variant(tmp_path, id="Ant"))


def test_hyperparams_belong_to_isaacgymenvs_config(tmp_path: Path) -> None:
    path = variant(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["training"]["hyperparams"] = {"horizon_length": 16}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TaskError, match="training.hyperparams for the isaacgym backend's trainer"):
        load_task(path)


@pytest.mark.parametrize("command", ["check", "run"])
def test_check_and_run_stop_with_exit_2_naming_the_backend_and_the_install(command: str, no_isaac, tmp_path) -> None:
    args = [command, str(CRAWLER_TASK)]
    if command == "run":
        args += ["--model", f"scripted:{SCRIPTED}", "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "isaacgym backend needs Isaac Gym, which is not installed here" in text
    assert "pip install -e isaacgym/python" in text and "eureka[isaacgym]" in text and "docs/isaacgym.md" in text
    assert not (tmp_path / "runs").exists()  # nothing started


def test_with_isaac_gym_installed_the_stop_says_what_eureka_does_not_do(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    monkeypatch.setattr("eureka.envs.isaacgym_backend.isaacgym_installed", lambda: True)
    result = CliRunner().invoke(cli, ["run", str(CRAWLER_TASK), "--model", f"scripted:{SCRIPTED}",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "does not run Isaac Gym tasks itself" in " ".join(result.output.split())


def test_the_backend_functions_and_the_trainer_raise_the_same_reason(no_isaac) -> None:
    task = load_task(CRAWLER_TASK)
    for call in (lambda: space_info(task.env), lambda: sample_transitions(task.env),
                 lambda: trainer_for("isaacgym").train(None, Path("."))):  # type: ignore[arg-type]
        with pytest.raises(IsaacGymUnavailable, match="needs Isaac Gym"):
            call()


def test_the_python_api_stops_before_any_run_directory(no_isaac, tmp_path: Path) -> None:
    import eureka

    with pytest.raises(IsaacGymUnavailable, match="needs Isaac Gym"):
        eureka.run(CRAWLER_TASK, model=f"scripted:{SCRIPTED}", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
