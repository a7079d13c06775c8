"""Named state (`context.state`, eureka.design.named_state): validated before a run, a quantity
in structured mode, listed in the code prompt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.design.named_state import state_problems, state_quantities
from eureka.design.prompts import PromptBuilder
from eureka.design.spec import SpecMode
from eureka.envs import observation_fields, sample_transitions, space_info
from eureka.envs.fields import designer_task
from eureka.task import StateField, TaskError, load_task
from eureka.task_check import check_task

ROOT = Path(__file__).resolve().parents[2]
GRID_TASK = ROOT / "tests" / "data" / "tasks" / "grid_dict.yaml"
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "grid_dict"


def grid_task(tmp_path: Path, state: dict) -> Path:
    data = yaml.safe_load(GRID_TASK.read_text())
    data["context"]["state"] = state
    path = tmp_path / "grid_dict.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("state, found", [
    ({"Bad-Name": "obs[:, 0]"}, "context.state.Bad-Name"),
    ({"custom": "obs[:, 0]"}, "the name 'custom' is taken"),
    ({"x": {"expression": "obs[:, 0]", "range": [1, 0]}}, "finite low < high"),
    ({"x": {"expression": "obs[:, 0]", "unit": "m"}}, "context.state.x.unit: unknown field"),
])
def test_the_file_refuses_malformed_named_state(tmp_path: Path, state: dict, found: str):
    with pytest.raises(TaskError) as failure:
        load_task(grid_task(tmp_path, state))
    assert found in str(failure.value)


@pytest.mark.parametrize("expression, found", [
    ("obs.__class__", 'may not use attribute "__class__"'),
    ("np.sum(obs, axis=0)", "gives shape (51,)"),
    ("obs[:, 0] - next_obs[:, 0]", "reads obs only"),
    ("obs[:, 99]", "column 99 is outside the observation"),
    ("np.log(obs[:, 50] - 1)", "not finite"),
    ('obs["speed"][:, 0]', "context.state.bad: obs['speed'] names no field"),
])
def test_a_bad_expression_stops_the_run_with_exit_2_naming_the_field(tmp_path: Path, expression: str, found: str):
    path = grid_task(tmp_path, {"on_goal": "obs[:, 0]", "bad": expression})
    with pytest.raises(TaskError) as failure:
        check_task(load_task(path))
    assert "context.state.bad" in str(failure.value) and found in str(failure.value)
    result = CliRunner().invoke(cli, ["run", str(path), "--model", f"scripted:{SCRIPTED}", "--runs-dir",
                                      str(tmp_path / "runs")])
    assert result.exit_code == 2 and "context.state.bad" in result.output
    assert not (tmp_path / "runs").exists()


def test_named_state_is_a_quantity_a_spec_term_uses():
    task = load_task(GRID_TASK)
    check_task(task)
    designed = designer_task(task, observation_fields(task.env))
    space = space_info(task.env)
    transitions = sample_transitions(task.env, 256)
    mode = SpecMode.for_task(designed, space, transitions)
    on_goal = mode.quantities[0]
    assert on_goal.name == "on_goal" and on_goal.range_text == "[0, 1]" and not on_goal.per_transition
    assert "1 when the agent stands on the goal" in on_goal.meaning
    compiled = mode.compile_reply(
        '{"ends_on": "success", "terms": [{"kind": "in_region", "quantity": "on_goal", "where": "above", '
        '"threshold": 0.5, "weight": "large"}, {"kind": "progress", "quantity": "on_goal", "toward": "higher", '
        '"weight": "small"}]}')
    assert compiled.problems == []
    namespace: dict = {}
    exec(compile(compiled.code, "<reward>", "exec"), namespace)  # noqa: S102 - our own compiled spec
    _, parts = namespace["compute_reward"](transitions.obs, transitions.action, transitions.next_obs,
                                           transitions.terminated)
    arrived = transitions.terminated  # the env ends an episode exactly when the agent is on the goal
    assert arrived.any()
    np.testing.assert_array_equal(parts["on_goal_above"], np.where(arrived, 3.0, 0.0))


def test_named_state_with_jax_under_jit_and_the_code_prompt():
    pytest.importorskip("jax")
    state = {"gap": StateField(expression="obs[:, 1] - obs[:, 0]"), "broken": StateField(expression="obs[:, 0:2]")}
    obs = np.arange(12, dtype=np.float32).reshape(6, 2)
    problems = state_problems(state, obs, jax=True)
    assert list(problems) == ["broken"] and "shape (6, 2)" in problems["broken"]
    assert [q.name for q in state_quantities(state, 2)] == ["gap", "broken"]  # shape is the task check's job
    task = load_task(GRID_TASK)
    prompt = PromptBuilder(designer_task(task, observation_fields(task.env)), space_info(task.env)).initial
    assert "## Named state" in prompt
    assert "- on_goal = np.sum(obs[:, 0:50][:, 0::2] * obs[:, 0:50][:, 1::2], axis=1): 1 when" in prompt
