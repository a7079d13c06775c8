"""`eureka check`: the env built in the sandbox, random episodes, what the designer sees, the first
prompt; exit 2 with reasons. And every `eureka run` builds the env first and stops on its failure."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli

USER_ENV = Path(__file__).resolve().parent / "data" / "user_env"
SCRIPTED = Path(__file__).resolve().parent / "data" / "scripted" / "my_env"


@pytest.fixture
def initialised(tmp_path, monkeypatch):
    """A folder with the user's env file and the task file `eureka init` wrote for it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_env", raising=False)
    shutil.copy(USER_ENV / "my_env.py", tmp_path)
    assert CliRunner().invoke(cli, ["init", "my_env:MyEnv"]).exit_code == 0
    return tmp_path / "task.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def fill_todos(path: Path) -> None:
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("description:"):
            lines[index] = 'description: "Drive the cart right to the flag at +0.9."'
        if line.startswith("  action:"):
            lines[index] = '  action: "0 pushes left, 1 does nothing, 2 pushes right"'
    path.write_text("\n".join(lines) + "\n")


def test_check_refuses_the_todos_init_left(initialised, sandbox_name):
    result = CliRunner().invoke(cli, ["check", str(initialised), "--sandbox", sandbox_name, "--steps", "300"])
    assert result.exit_code == 2
    assert "description: still says TODO" in result.output and "context.action: still says TODO" in result.output


def test_check_shows_quantities_episodes_fitness_and_the_first_prompt(initialised, sandbox_name):
    fill_todos(initialised)
    result = CliRunner().invoke(cli, ["check", str(initialised), "--sandbox", sandbox_name, "--steps", "600"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "position" in out and "[-0.1, 0.1]" in out and "MISMATCH" not in out
    assert "random-policy episodes" in out and "ended by termination" in out
    assert "random-policy fitness (episode_return)" in out
    assert "first prompt: user" in out and "Drive the cart right to the flag" in out
    assert "def step(self, action)" in out  # the env's source, found beside the task
    assert "ready" in out


def test_check_flags_a_documented_range_the_env_leaves(initialised, sandbox_name):
    fill_todos(initialised)
    edit(initialised, "obs[:, 0]: position, in [-1, 1]", "obs[:, 0]: position, in [-0.2, 0.2]")
    edit(initialised, "obs[:, 1]: velocity, in [-0.1, 0.1]", "obs[:, 1]: velocity, in [-0.1, 0.1]\n"
                                                              "    obs[:, 2]: angle, in [-1, 1]")
    result = CliRunner().invoke(cli, ["check", str(initialised), "--sandbox", sandbox_name, "--steps", "600"])
    assert result.exit_code == 2
    assert "MISMATCH" in result.output and "outside the documented [-0.2, 0.2]" in result.output
    assert "names columns beyond the observation, which has 2" in result.output


def test_check_trains_the_baselines_briefly_and_says_why_one_fails(initialised, sandbox_name):
    fill_todos(initialised)
    rewards = initialised.parent / "rewards"
    rewards.mkdir()
    (rewards / "human.py").write_text((SCRIPTED / "01_progress.md").read_text().split("```python\n")[1]
                                      .split("```")[0])
    (rewards / "sparse.py").write_text("def compute_reward(obs, action, next_obs, terminated):\n"
                                       "    raise ValueError('not written yet')\n")
    edit(initialised, "# baselines:", "baselines: {human: rewards/human.py, sparse: rewards/sparse.py}\n#")
    result = CliRunner().invoke(cli, ["check", str(initialised), "--sandbox", sandbox_name, "--steps", "300",
                                      "--baseline-steps", "256"])
    assert result.exit_code == 0, result.output
    assert "baseline human: " in result.output and "after 256 steps" in result.output
    assert "baseline sparse: failed: ValueError: not written yet" in result.output


def test_a_run_whose_env_fails_in_the_sandbox_stops_before_any_llm_call(initialised, sandbox_name):
    fill_todos(initialised)
    edit(initialised.parent / "my_env.py", "        self.steps += 1\n",
         "        self.steps += 1\n        if self.steps > 3:\n            raise RuntimeError('the physics broke')\n")
    result = CliRunner().invoke(cli, ["run", str(initialised), "--model", f"scripted:{SCRIPTED}",
                                      "--sandbox", sandbox_name, "--runs-dir", "runs"])
    assert result.exit_code == 1
    assert "the physics broke" in result.output and "reset or step" in result.output
    assert not (initialised.parent / "runs").exists()  # no run directory, so no LLM call was made


@pytest.mark.slow
def test_an_env_that_fails_during_training_stops_the_run_before_the_next_llm_call(initialised, sandbox_name):
    fill_todos(initialised)
    edit(initialised.parent / "my_env.py", "class MyEnv(gym.Env):\n",
         "STEPS = [0]\n\n\nclass MyEnv(gym.Env):\n")
    edit(initialised.parent / "my_env.py", "        self.steps += 1\n",
         "        self.steps += 1\n        STEPS[0] += 1\n"
         "        if STEPS[0] > 1000:\n            raise RuntimeError('the physics broke late')\n")
    result = CliRunner().invoke(cli, ["run", str(initialised), "--model", f"scripted:{SCRIPTED}",
                                      "--sandbox", sandbox_name, "--runs-dir", "runs", "--iterations", "2",
                                      "--samples", "2", "--timesteps", "2048"])
    assert result.exit_code == 1
    assert "the environment failed: RuntimeError: the physics broke late" in result.output
    assert "my_env.py" in result.output and "not a reward's" in result.output
    run_dir = next((initialised.parent / "runs").iterdir())
    assert len(list((run_dir / "llm").iterdir())) == 2  # generation 0's two samples, nothing after
