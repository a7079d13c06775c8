"""Structured observations (eureka.envs.fields): a gymnasium Dict is flattened for the trainer and
its fields keep their names as column ranges in the layout the designer reads."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from eureka.envs import observation_fields, sample_transitions, space_info
from eureka.envs.fields import designer_task, fields_of_space, layout_with_fields, reference_problem
from eureka.envs.gymnasium_backend import make_env
from eureka.task import EnvSpec, load_task

ROOT = Path(__file__).resolve().parents[2]
GRID_TASK = ROOT / "tests" / "data" / "tasks" / "grid_dict.yaml"
GRID_ENV = EnvSpec(id="tests.data.envs.grid_dict:GridDictEnv")


def nested_space() -> gym.spaces.Dict:
    return gym.spaces.Dict({
        "pose": gym.spaces.Box(-2.0, 2.0, (2,), np.float32),
        "mode": gym.spaces.Discrete(3, start=1),
        "sensors": gym.spaces.Dict({"bumps": gym.spaces.MultiBinary(4),
                                    "depth": gym.spaces.Box(0.0, np.inf, (2, 3), np.float32)}),
    })


def test_fields_are_the_column_ranges_gymnasium_flattens_each_key_into():
    space = nested_space()
    fields = fields_of_space(space)
    assert [(f.key, f.start, f.stop, f.kind) for f in fields] == [
        ("mode", 0, 3, "one_hot"), ("pose", 3, 5, "box"),
        ("sensors.bumps", 5, 9, "flags"), ("sensors.depth", 9, 15, "box")]  # a Dict's keys are sorted
    space.seed(0)
    for _ in range(5):
        sample = space.sample()
        flat = gym.spaces.flatten(space, sample)
        by_key = {"mode": space["mode"], "pose": space["pose"], "sensors.bumps": space["sensors"]["bumps"],
                  "sensors.depth": space["sensors"]["depth"]}
        values = {"mode": sample["mode"], "pose": sample["pose"], "sensors.bumps": sample["sensors"]["bumps"],
                  "sensors.depth": sample["sensors"]["depth"]}
        for field in fields:
            expected = gym.spaces.flatten(by_key[field.key], values[field.key])
            np.testing.assert_array_equal(flat[field.start:field.stop], expected, err_msg=field.key)
    assert fields_of_space(gym.spaces.Box(0, 1, (3,))) == []  # a flat observation has no fields


def test_the_layout_names_every_field_the_text_does_not_describe():
    fields = fields_of_space(nested_space())
    generated = layout_with_fields(None, fields)
    assert generated.splitlines() == [
        "The observation has 4 named fields, flattened into 15 columns in this order:",
        "obs[:, 0:3]: mode, one-hot over its 3 values: column 0 + v is 1 when mode is 1 + v",
        "obs[:, 3:5]: pose, a vector of 2, in [-2, 2]",
        "obs[:, 5:9]: sensors.bumps, 4 flags, each 0 or 1",
        "obs[:, 9:15]: sensors.depth, a 2 x 3 array, flattened row by row (the last index fastest)",
    ]
    written = layout_with_fields('obs["pose"]: where the robot stands (x, y) in metres\n', fields)
    assert written.splitlines()[0] == "obs[:, 3:5]: where the robot stands (x, y) in metres"
    assert "pose, a vector" not in written and "obs[:, 0:3]: mode" in written
    assert layout_with_fields("obs[:, 0]: x", []) == "obs[:, 0]: x"  # no fields: the text as written
    assert "names no field" in reference_problem('obs["speed"]: m/s', fields)
    assert "no named fields" in reference_problem('obs["speed"]: m/s', [])


def test_a_dict_env_is_flattened_and_its_fields_read_the_real_observation():
    env = make_env(GRID_ENV)
    raw = env.unwrapped
    flat, _ = env.reset(seed=3)
    fields = {f.key: f for f in observation_fields(GRID_ENV)}
    assert space_info(GRID_ENV).obs_dim == 51 and set(fields) == {"grid", "time_left"}
    observed = raw._observe()
    grid = fields["grid"]
    np.testing.assert_array_equal(flat[grid.start:grid.stop].reshape(5, 5, 2), observed["grid"])
    assert flat[fields["time_left"].start] == 1.0
    transitions = sample_transitions(GRID_ENV, 64)
    assert transitions.obs.shape == (64, 51)
    env.close()


def test_the_designer_reads_the_fields_in_the_layout_and_in_named_state():
    task = load_task(GRID_TASK)
    designed = designer_task(task, observation_fields(task.env))
    assert designed.context.observation.splitlines() == [
        "obs[:, 0:50]: a 5 x 5 grid, row by row, with 2 one-hot channels: 0 the agent, 1 the goal",
        "obs[:, 50]: time_left, in [0, 1]"]
    assert designed.context.state["on_goal"].expression == \
        "np.sum(obs[:, 0:50][:, 0::2] * obs[:, 0:50][:, 1::2], axis=1)"
    assert designed.path == task.path and task.context.observation.startswith('obs["grid"]')  # a copy


def test_a_layout_naming_an_unknown_field_is_refused_at_task_check(tmp_path: Path):
    from click.testing import CliRunner

    from eureka.cli import cli

    text = GRID_TASK.read_text().replace('obs["grid"]: a 5', 'obs["board"]: a 5')
    (tmp_path / "grid_dict.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "grid_dict.yaml"), "--model",
                                      f"scripted:{ROOT / 'tests' / 'data' / 'scripted' / 'grid_dict'}",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "context.observation: obs['board'] names no field" in result.output and "grid, time_left" in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("space", [gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Box(0, 1, (2,))))])
def test_a_tuple_names_its_fields_by_position(space):
    assert [(f.key, f.start, f.stop) for f in fields_of_space(space)] == [("0", 0, 2), ("1", 2, 4)]


def test_check_shows_the_fields_grid_quantities_and_named_state_from_the_sandbox(sandbox_name: str, tmp_path: Path):
    from click.testing import CliRunner

    from eureka.cli import cli

    result = CliRunner().invoke(cli, ["check", str(GRID_TASK), "--sandbox", sandbox_name, "--steps", "300",
                                      "--no-baselines", "--mode", "spec"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "- distance_agent_goal: the distance from the agent (channel 0)" in out  # the spec prompt's table
    assert "- on_goal: 1 when the agent stands on the goal" in out and "- time_left: time_left, in [0, 1]" in out
    assert "0, 1, ..., 49" in out  # the agent's and the goal's channels, in the table
    bad = tmp_path / "grid_dict.yaml"
    bad.write_text(GRID_TASK.read_text().replace('obs["grid"]: a 5', 'obs["board"]: a 5'))
    result = CliRunner().invoke(cli, ["check", str(bad), "--sandbox", sandbox_name, "--steps", "300",
                                      "--no-baselines"])
    assert result.exit_code == 2 and "obs['board'] names no field" in result.output
