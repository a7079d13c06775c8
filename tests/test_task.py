from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.task import TaskError, load_task

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "tasks").glob("*.yaml"))


def write_task(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def base_task() -> dict:
    return {"name": "t", "description": "balance", "env": {"id": "CartPole-v1"}}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_tasks_load_with_their_baselines(path: Path) -> None:
    task = load_task(path)
    assert task.resolve(task.baselines.human).is_file()
    assert task.resolve(task.baselines.sparse).is_file()
    assert task.context.observation


def test_missing_field_is_named(tmp_path: Path) -> None:
    data = base_task()
    del data["description"]
    with pytest.raises(TaskError, match=r"task.yaml.*\n  description: required field is missing"):
        load_task(write_task(tmp_path, data))


def test_wrong_type_is_named_with_the_value(tmp_path: Path) -> None:
    data = {**base_task(), "training": {"timesteps": "lots"}}
    with pytest.raises(TaskError, match=r"training.timesteps: .*'lots'"):
        load_task(write_task(tmp_path, data))


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    data = {**base_task(), "search": {"iterations": 2, "sampels": 3}}
    with pytest.raises(TaskError, match=r"search.sampels: unknown field"):
        load_task(write_task(tmp_path, data))


def test_missing_baseline_file_is_named(tmp_path: Path) -> None:
    data = {**base_task(), "baselines": {"human": "nowhere.py"}}
    with pytest.raises(TaskError, match=r"baselines.human: file not found: .*nowhere.py"):
        load_task(write_task(tmp_path, data))


def test_success_rate_needs_a_success_condition(tmp_path: Path) -> None:
    data = {**base_task(), "fitness": {"metric": "success_rate"}}
    with pytest.raises(TaskError, match=r"fitness.success: required"):
        load_task(write_task(tmp_path, data))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="task file not found"):
        load_task(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TaskError, match="not valid YAML"):
        load_task(bad)


def test_cli_reports_bad_task_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    data = {**base_task(), "colour": "blue"}
    result = CliRunner().invoke(cli, ["run", str(write_task(tmp_path, data))])
    assert result.exit_code == 2
    assert "colour: unknown field" in result.output
    assert "Traceback" not in result.output
