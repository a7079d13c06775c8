"""A wheel that works: built from this repository, installed non-editable into a fresh venv, it does the
issue's "five minutes" in an empty folder with a user's env file - `eureka init my_env:MyEnv`, two lines
edited, `eureka check task.yaml`, `eureka run task.yaml --model scripted:...` - on both sandboxes, and
knows its shipped tasks by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox.conftest import sandbox_or_skip

ROOT = Path(__file__).resolve().parent.parent
USER_ENV = ROOT / "tests" / "data" / "user_env" / "my_env.py"
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "my_env"
NOT_SOURCES = shutil.ignore_patterns(".git", "runs", "build", "dist", "*.egg-info", "__pycache__", "results",
                                     ".eureka-cache", "*.gguf", ".pytest_cache")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv (system site-packages for the dependencies) holding only the wheel's eureka."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)  # build from a copy: the checkout stays clean
    env = outside_env()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(base / "dist"), str(source)], check=True, env=env)
    wheel = next((base / "dist").glob("eureka-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(base / "venv")], check=True, env=env)
    # --ignore-installed: the system's (editable) eureka of the same version must not satisfy it
    subprocess.run([str(base / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", "--ignore-installed", str(wheel)], check=True, env=env)
    return base / "venv"


def outside_env() -> dict[str, str]:
    """The environment without this checkout on PYTHONPATH."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EUREKA_PROMPTS_DIR")}


def eureka(venv: Path, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = outside_env()
    env["COLUMNS"] = "200"
    return subprocess.run([str(venv / "bin" / "eureka"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_venv_imports_the_wheels_eureka_not_the_checkouts(venv, tmp_path):
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import eureka; print(eureka.__file__)"],
                           cwd=tmp_path, env=outside_env(), capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), where


@pytest.mark.parametrize("backend", [pytest.param("bwrap", marks=pytest.mark.bwrap),
                                     pytest.param("docker", marks=pytest.mark.docker)])
def test_init_edit_check_run_from_an_empty_folder(venv, tmp_path, backend):
    sandbox_or_skip(backend)
    shutil.copy(USER_ENV, tmp_path)
    done = eureka(venv, "init", "my_env:MyEnv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    task = tmp_path / "task.yaml"
    lines = task.read_text().splitlines()
    edited = [i for i, line in enumerate(lines) if "TODO" in line and not line.lstrip().startswith("#")]
    assert len(edited) == 2  # the two lines to edit: the description and the action text
    lines[edited[0]] = 'description: "Drive the cart right to the flag at +0.9."'
    lines[edited[1]] = '  action: "0 pushes left, 1 does nothing, 2 pushes right"'
    task.write_text("\n".join(lines) + "\n")

    checked = eureka(venv, "check", "task.yaml", "--sandbox", backend, "--steps", "500", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ready" in checked.stdout and "first prompt: user" in checked.stdout

    ran = eureka(venv, "run", "task.yaml", "--model", f"scripted:{SCRIPTED}", "--sandbox", backend,
                 "--iterations", "1", "--samples", "2", "--timesteps", "256", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "best reward: runs/" in ran.stdout + ran.stderr and (tmp_path / "runs").is_dir()


def test_shipped_tasks_by_name(venv, tmp_path, sandbox_name):
    listed = eureka(venv, "tasks", cwd=tmp_path)
    assert listed.returncode == 0 and "cartpole" in listed.stdout and str(venv) in listed.stdout
    checked = eureka(venv, "check", "cartpole", "--no-baselines", "--steps", "64", "--sandbox", sandbox_name,
                     cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Balance a pole" in checked.stdout and "cart position" in checked.stdout
