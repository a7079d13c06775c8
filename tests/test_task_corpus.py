"""Malformed task files: each `eureka run` exits 2 naming the field, with no traceback, no run
directory, and bounded time and memory (measured in the child process that runs the CLI: wall
time from its first import, peak resident memory from /proc/self/status)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GYM_CARTPOLE = ROOT / "tests" / "data" / "tasks" / "cartpole_gymnasium.yaml"
MAX_SECONDS = 3.0
MAX_RSS_MB = 300

# Runs the CLI in this child and reports its exit code, wall time and peak memory.
MEASURE = """
import json, resource, sys, time
start = time.monotonic()
from eureka.cli import main
sys.argv = ["eureka", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
sys.stderr.flush()
try:  # this process's own peak (ru_maxrss would also count the parent's, inherited across fork and exec)
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
except (OSError, IndexError, ValueError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# CPU seconds, this process's and its children's: a wall clock would also count a loaded machine
cpu = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
print(json.dumps({"code": code, "seconds": cpu, "wall_s": time.monotonic() - start, "rss_mb": peak_kb / 1024}),
      file=sys.__stdout__)
"""


def base() -> dict:
    data = yaml.safe_load(GYM_CARTPOLE.read_text())
    data.pop("baselines")
    return data


def with_(path: str, value) -> Callable[[Path], bytes]:
    def write(folder: Path) -> bytes:
        data = base()
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        return yaml.safe_dump(data).encode()
    return write


def jax_env(env_id: str) -> Callable[[Path], bytes]:
    def write(folder: Path) -> bytes:
        data = base()
        data["env"] = {"backend": "jax", "id": env_id}
        data["training"].pop("hyperparams")
        return yaml.safe_dump(data).encode()
    return write


def raw(text: str) -> Callable[[Path], bytes]:
    return lambda folder: text.encode()


def non_utf8(folder: Path) -> bytes:
    return yaml.safe_dump(base()).encode().replace(b"Balance a pole", b"Balance a p\xf4le")


def alias_bomb(folder: Path) -> bytes:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "\n".join("    " + line for line in lines)
    text = yaml.safe_dump({k: v for k, v in base().items() if k != "training"})
    return (text + "training:\n  timesteps: 1000\n  hyperparams:\n" + bomb + "\n").encode()


def huge_description(folder: Path) -> bytes:
    text = yaml.safe_dump({k: v for k, v in base().items() if k != "description"})
    return text.encode() + b"description: " + b"x" * (50 * 1024 * 1024) + b"\n"


def deep_nesting(folder: Path) -> bytes:
    return yaml.safe_dump(base()).encode() + b"extra: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"


CASES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "non-UTF-8 bytes": (non_utf8, "(encoding): not UTF-8"),
    "unknown env id": (with_("env.id", "NoSuchEnv-v9"), "env.id: 'NoSuchEnv-v9'"),
    "unknown jax env id": (jax_env("NoSuchEnv-v9"), "env.id: 'NoSuchEnv-v9'"),
    "success syntax error": (with_("fitness.success", "obs[:, 0] >"), "fitness.success: syntax error"),
    "success __subclasses__ escape": (
        with_("fitness.success", "().__class__.__base__.__subclasses__()[0].__init__.__globals__['os'].system('id')"),
        "fitness.success: "),
    "success calls a builtin": (with_("fitness.success", "__import__('os').system('id') == 0"),
                                "fitness.success: calling __import__"),
    "success broadcasts into a huge array": (with_("fitness.success", "obs[:, 0:1] * env_reward > 0"),
                                             "fitness.success: "),
    "success of the wrong shape": (with_("fitness.success", "obs > 0"), "fitness.success: gives shape (64, 4)"),
    "alias bomb in hyperparams": (alias_bomb, "training.hyperparams.a0: YAML anchors and aliases"),
    "/etc/passwd baseline": (with_("baselines", {"human": "/etc/passwd"}), "baselines.human: /etc/passwd is outside"),
    "baseline escaping the folder": (with_("baselines", {"sparse": "../../../../etc/hostname"}), "baselines.sparse: "),
    "50 MB description": (huge_description, "description: the file has"),
    "description over the cap": (with_("description", "word " * 5000), "description: String should have at most"),
    "observation layout over the cap": (with_("context.observation", "x" * 30_000), "context.observation: "),
    "unknown hyperparameter": (with_("training.hyperparams", {"n_stpes": 32}), "training.hyperparams.n_stpes: unknown"),
    "hyperparameter of the wrong type": (with_("training.hyperparams", {"n_steps": "many"}),
                                         "training.hyperparams.n_steps: "),
    "nested hyperparameter": (with_("training.hyperparams", {"policy_kwargs": {"net_arch": [64]}}),
                              "training.hyperparams.policy_kwargs"),
    "python tag": (raw("name: !!python/object/apply:os.system ['id']\n"), "not valid YAML"),
    "name escaping the runs folder": (with_("name", "../../escape"), "name: String should match pattern"),
    "unknown context source": (with_("context.source", "no_such_module_xyz:Thing"), "context.source[0]: "),
    "nesting bomb": (deep_nesting, "extra[0][0][0]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_task_file_exits_2_naming_the_field_quickly(tmp_path: Path, case: str) -> None:
    make, expected = CASES[case]
    task = tmp_path / "task.yaml"
    task.write_bytes(make(tmp_path))
    runs = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-c", MEASURE, "run", str(task), "--runs-dir", str(runs),
                           "--model", "scripted:" + str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["code"] == 2, proc.stderr[-2000:]
    assert str(task) in proc.stderr
    assert expected in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not runs.exists() or not any(runs.iterdir())
    assert stats["seconds"] < MAX_SECONDS, stats
    assert stats["rss_mb"] < MAX_RSS_MB, stats


def test_the_shipped_gymnasium_task_passes_the_check() -> None:
    from eureka.task_check import checked_task

    task = checked_task(GYM_CARTPOLE)
    assert task.env.id == "CartPole-v1"
