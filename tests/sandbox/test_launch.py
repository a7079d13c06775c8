"""The launcher that sets a child up before bwrap (or a plain child) in a fresh interpreter."""

from __future__ import annotations

import ast
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from eureka.sandbox import SandboxError, launch
from eureka.sandbox.base import SandboxJob, SandboxLimits
from tests.sandbox.conftest import sandbox_or_skip

JOB = """import json, sys
json.dump({"ok": True}, open(sys.argv[1] + "/result.json", "w"))
"""


def test_setup_applies_rlimits_then_execs_the_command() -> None:
    config = {"rlimits": [[resource.RLIMIT_FSIZE, 4096 * 1024], [resource.RLIMIT_CORE, 0]]}
    done = subprocess.run(launch.command(config, ["/bin/sh", "-c", "ulimit -f; ulimit -c"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["8192", "0"]  # ulimit -f counts 512-byte blocks


def test_a_failed_setup_exits_with_its_reason() -> None:
    config = {"procs_files": ["/nonexistent/cgroup.procs"]}
    done = subprocess.run(launch.command(config, ["/bin/true"]), capture_output=True, text=True, timeout=30)
    assert done.returncode == launch.SETUP_FAILED
    assert done.stderr.startswith(launch.PREFIX) and "No such file" in done.stderr


def test_the_launcher_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(launch.__file__).read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules


def test_no_python_code_runs_between_fork_and_exec_under_jax(tmp_path: Path) -> None:
    """JAX warns when the process forks with Python code to run in the child (a preexec_fn),
    which can deadlock a multithreaded parent; starting a sandboxed job must not do that."""
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # JAX's threads and its at-fork hook are live
    sandbox = sandbox_or_skip("bwrap")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "hello_job.py").write_text(JOB)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = sandbox.run(SandboxJob("hello_job", scratch, SandboxLimits(timeout_s=30, memory_mb=256)))
    assert outcome.ok, (outcome.detail, outcome.log_tail[-300:])
    assert not [w for w in caught if "fork" in str(w.message)], [str(w.message) for w in caught]


def test_bwrap_reports_a_failed_setup_as_a_sandbox_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_or_skip("bwrap")
    real = launch.command

    def broken(config: dict, argv: list[str]) -> list[str]:
        return real({**config, "procs_files": ["/nonexistent/cgroup.procs"]}, argv)

    monkeypatch.setattr(launch, "command", broken)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(SandboxError, match="setting up the child failed.*No such file"):
        sandbox.run(SandboxJob("hello_job", scratch, SandboxLimits(timeout_s=30, memory_mb=256)))
