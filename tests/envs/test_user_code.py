"""User env code reaches the sandbox: the env's own module (beside the task, on PYTHONPATH, a
package), env.paths and env.register, in the real bwrap and Docker sandboxes."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from eureka.envs.preflight import build_env_in_sandbox
from eureka.envs.user import EnvCodeError, prepare_host, user_code
from eureka.sandbox import make_sandbox
from eureka.task import load_task
from tests.sandbox.conftest import sandbox_or_skip

USER_ENV = Path(__file__).resolve().parents[1] / "data" / "user_env"


def write_task(folder: Path, env: dict, **extra) -> Path:
    data = {"name": "user_env", "description": "reach the flag", "env": {"backend": "gymnasium", **env},
            "context": {"observation": "obs[:, 0]: position, in [-1, 1]\nobs[:, 1]: velocity, in [-0.1, 0.1]"},
            **extra}
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def clean_path(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("my_env", "asset_pkg", "asset_pkg.line", "helper"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_module_beside_the_task_file_is_mounted_exactly(tmp_path, clean_path):
    shutil.copy(USER_ENV / "my_env.py", tmp_path)
    (tmp_path / "unrelated.txt").write_text("not shown")
    task = load_task(write_task(tmp_path, {"id": "my_env:MyEnv"}, context={"source": "my_env:MyEnv.step"}))
    code = user_code(task)
    assert code.paths == (str(tmp_path.resolve() / "my_env.py"),)
    assert code.import_roots == (str(tmp_path.resolve()),)


def test_a_package_on_pythonpath_is_mounted_as_its_folder_and_site_packages_is_not(tmp_path, clean_path):
    elsewhere = tmp_path / "lib"
    shutil.copytree(USER_ENV / "asset_pkg", elsewhere / "asset_pkg")
    sys.path.insert(0, str(elsewhere))
    folder = tmp_path / "task"
    folder.mkdir()
    task = load_task(write_task(folder, {"id": "asset_pkg.line:AssetLine"},
                                context={"source": ["asset_pkg.line:AssetLine.step",
                                                    "gymnasium.envs.classic_control.cartpole:CartPoleEnv.step"]}))
    code = user_code(task)
    assert code.paths == (str((elsewhere / "asset_pkg").resolve()),)
    assert code.module("gymnasium").visible


@pytest.mark.parametrize("backend", [pytest.param("bwrap", marks=pytest.mark.bwrap),
                                     pytest.param("docker", marks=pytest.mark.docker)])
def test_a_registered_id_from_a_user_package_with_assets_builds_in_the_sandbox(tmp_path, clean_path, backend):
    sandbox_or_skip(backend)
    shutil.copytree(USER_ENV / "asset_pkg", tmp_path / "asset_pkg")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "goal.txt").write_text("0.3")
    task = load_task(write_task(tmp_path, {"id": "AssetLine-v0", "register": "asset_pkg", "paths": ["assets"],
                                           "kwargs": {"goal_file": str(tmp_path / "assets" / "goal.txt")}}))
    prepare_host(task)
    report, transitions = build_env_in_sandbox(task, make_sandbox(backend, user_code=user_code(task)), steps=200)
    assert report.ok and report.obs_dim == 2
    assert transitions is not None and np.allclose(transitions.obs[:, 1], 0.3)
    assert any(e.ended_by == "termination" for e in report.episodes)


@pytest.mark.parametrize("backend", [pytest.param("bwrap", marks=pytest.mark.bwrap),
                                     pytest.param("docker", marks=pytest.mark.docker)])
def test_an_env_module_that_imports_an_unshown_helper_names_it_where_it_is_and_the_fix(tmp_path, clean_path,
                                                                                      backend):
    sandbox_or_skip(backend)
    (tmp_path / "helper.py").write_text("SPEED = 0.02\n")
    (tmp_path / "my_env.py").write_text("import helper\n" + (USER_ENV / "my_env.py").read_text())
    task = load_task(write_task(tmp_path, {"id": "my_env:MyEnv"}))
    prepare_host(task)
    with pytest.raises(EnvCodeError) as failure:
        build_env_in_sandbox(task, make_sandbox(backend, user_code=user_code(task)))
    message = str(failure.value)
    assert "'helper'" in message and str(tmp_path.resolve() / "helper.py") in message and "env.paths" in message
    task = load_task(write_task(tmp_path, {"id": "my_env:MyEnv", "paths": ["helper.py"]}))
    report, _ = build_env_in_sandbox(task, make_sandbox(backend, user_code=user_code(task)))
    assert report.ok


def test_a_module_found_nowhere_says_so_and_how_to_fix_it(tmp_path, clean_path):
    task = load_task(write_task(tmp_path, {"id": "no_such_env:Env"}))
    with pytest.raises(EnvCodeError) as failure:
        build_env_in_sandbox(task, make_sandbox("none", user_code=user_code(task)))
    assert "'no_such_env'" in str(failure.value) and "not found on the host" in str(failure.value)
    assert "beside the task file" in str(failure.value)


def test_an_env_that_fails_in_step_is_the_envs_failure_with_the_cause(tmp_path, clean_path):
    (tmp_path / "my_env.py").write_text((USER_ENV / "my_env.py").read_text().replace(
        "        self.steps += 1\n", "        self.steps += 1\n        raise RuntimeError('the physics broke')\n"))
    task = load_task(write_task(tmp_path, {"id": "my_env:MyEnv"}))
    with pytest.raises(EnvCodeError) as failure:
        build_env_in_sandbox(task, make_sandbox("none", user_code=user_code(task)))
    assert "reset or step" in str(failure.value) and "the physics broke" in str(failure.value)
    assert "my_env.py" in str(failure.value)
