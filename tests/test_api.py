"""The Python API: eureka.run -> RunResult, eureka.load_run, eureka.load_reward."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import eureka

USER_ENV = Path(__file__).resolve().parent / "data" / "user_env"
SCRIPTED = Path(__file__).resolve().parent / "data" / "scripted" / "my_env"


@pytest.fixture
def user_task(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_env", raising=False)
    shutil.copy(USER_ENV / "my_env.py", tmp_path)
    (tmp_path / "broken.py").write_text("def compute_reward(obs, action, next_obs, terminated):\n"
                                        "    raise ValueError('not written yet')\n")
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump({
        "name": "my_env", "description": "Drive the cart right to the flag at +0.9.",
        "env": {"id": "my_env:MyEnv"},
        "context": {"source": "my_env:MyEnv.step",
                    "observation": "obs[:, 0]: position, in [-1, 1]\nobs[:, 1]: velocity, in [-0.1, 0.1]",
                    "action": "0 pushes left, 1 does nothing, 2 pushes right"},
        "fitness": {"eval_episodes": 2},
        "baselines": {"sparse": "broken.py"},
        "training": {"timesteps": 512, "num_envs": 4, "seeds": [0, 1]},
        "search": {"iterations": 1, "samples": 2}}))
    return path


@pytest.mark.slow
def test_run_returns_the_best_the_fitness_table_and_the_run_dir(user_task, sandbox_name):
    result = eureka.run(user_task, model=f"scripted:{SCRIPTED}", sandbox=sandbox_name,
                        runs_dir=user_task.parent / "runs", with_baselines=True, timesteps=256)
    assert result.status == "finished" and result.best_fitness is not None
    assert result.run_dir.parent == user_task.parent / "runs"
    assert [(row.iteration, row.candidates) for row in result.fitness_table] == [(0, 2)]
    assert result.best_candidate == result.fitness_table[0].best_candidate
    assert "def compute_reward" in result.best_reward
    assert eureka.load_run(result.run_dir) == result
    # the failed baseline keeps its per-seed results, each with the reason
    assert result.baselines == {"sparse": None}
    members = yaml.safe_load((result.run_dir / "baselines" / "sparse.json").read_text())["members"]
    assert [m["seed"] for m in members] == [0, 1] and all("not written yet" in m["error"] for m in members)

    reward = eureka.load_reward(result.run_dir)
    obs = np.array([[0.0, 0.0], [0.5, 0.1]])
    total, components = reward(obs, np.array([2, 2]), obs + 0.1, np.array([False, True]))
    assert total.shape == (2,) and set(components) >= {"reached"}
    assert eureka.load_reward(result.run_dir / "best" / "reward.py")(obs, np.array([2, 2]), obs,
                                                                     np.array([False, False]))[0].shape == (2,)


def test_run_names_a_setting_it_does_not_know(user_task):
    with pytest.raises(TypeError, match="iteratons"):
        eureka.run(user_task, model=f"scripted:{SCRIPTED}", iteratons=2)


def test_load_run_of_a_folder_that_is_no_run_says_so(tmp_path):
    from eureka.rundir.store import RunStoreError

    with pytest.raises(RunStoreError, match="run.json"):
        eureka.load_run(tmp_path)
