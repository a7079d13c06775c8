"""`eureka init`: a task file written from the env's spaces, with TODOs where a person must write."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.envs.scaffold import todo_fields
from eureka.task import load_task

USER_ENV = Path(__file__).resolve().parent / "data" / "user_env"


@pytest.fixture
def in_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_env", raising=False)
    return tmp_path


def test_init_of_a_dict_env_names_columns_by_key_with_bounds_and_marks_what_it_cannot_know(in_folder):
    shutil.copy(USER_ENV / "my_env.py", in_folder)
    result = CliRunner().invoke(cli, ["init", "my_env:MyEnv"])
    assert result.exit_code == 0, result.output
    task = load_task(in_folder / "task.yaml")
    assert task.env.backend == "gymnasium" and task.env.id == "my_env:MyEnv"
    assert task.context.observation.splitlines() == ["obs[:, 0]: position, in [-1, 1]",
                                                     "obs[:, 1]: velocity, in [-0.1, 0.1]"]
    assert task.context.source == ["my_env:MyEnv.step"]
    assert task.context.action.startswith("an integer in 0..2")
    assert task.fitness.metric == "episode_return"
    text = (in_folder / "task.yaml").read_text()
    assert "# success: terminated" in text and "#   human: rewards/human.py" in text
    assert todo_fields(yaml.safe_load(text)) == ["description", "context.action"]


def test_init_of_a_box_env_writes_a_todo_line_per_column_with_the_spaces_bounds(in_folder):
    result = CliRunner().invoke(cli, ["init", "MountainCar-v0", "--backend", "gymnasium", "-o", "car.yaml"])
    assert result.exit_code == 0, result.output
    task = load_task(in_folder / "car.yaml")
    lines = task.context.observation.splitlines()
    assert lines == ["obs[:, 0]: TODO: what column 0 is (name, unit), in [-1.2, 0.6]",
                     "obs[:, 1]: TODO: what column 1 is (name, unit), in [-0.07, 0.07]"]
    assert task.env.max_episode_steps == 200
    assert task.context.source == ["gymnasium.envs.classic_control.mountain_car:MountainCarEnv.step"]


def test_init_picks_the_jax_backend_for_gymnax_ids(in_folder):
    pytest.importorskip("gymnax")
    result = CliRunner().invoke(cli, ["init", "Pendulum-v1"])
    assert result.exit_code == 0, result.output
    task = load_task(in_folder / "task.yaml")
    assert task.env.backend == "jax"
    assert task.context.source == ["gymnax.environments.classic_control.pendulum:Pendulum.step_env"]
    assert "a vector of 1 float, each in [-2, 2]" in task.context.action


def test_init_refuses_to_overwrite_and_names_an_env_it_cannot_build(in_folder):
    (in_folder / "task.yaml").write_text("mine")
    result = CliRunner().invoke(cli, ["init", "CartPole-v1"])
    assert result.exit_code == 2 and "exists" in result.output
    result = CliRunner().invoke(cli, ["init", "no_such_module:Env", "-o", "other.yaml"])
    assert result.exit_code == 2 and "no_such_module" in result.output
    assert (in_folder / "task.yaml").read_text() == "mine"
