"""The Isaac Gym adapter (eureka/envs/isaacgym_reward.py) on a stand-in VecTask with torch tensors
(tests/envs/isaac_fake.py: Isaac Gym itself cannot be installed here), and its static check
against isaacgym-stubs."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from eureka.envs.isaacgym_reward import (COMPONENTS_KEY, EPISODE_SUMS_KEY, GT_REWARD_KEY, IsaacReward, RewardFailure,
                                         evaluate_reward, load_isaac_reward, with_reward)
from tests.envs.isaac_fake import GoalSlider, Slider
from tests.helpers import ROOT, missing

ADAPTER = ROOT / "eureka" / "envs" / "isaacgym_reward.py"
STEPS = 40

TORCH_REWARD = """
import torch

W_CLOSE = 2.0


def compute_reward(obs, action, next_obs, terminated):
    close = -torch.abs(next_obs[:, 0] - next_obs[:, 2])
    effort = -action[:, 0] ** 2
    fell = -10.0 * terminated.float()
    return W_CLOSE * close + 0.1 * effort + fell, {"close": close, "effort": effort, "fell": fell}
"""
NUMPY_REWARD = TORCH_REWARD.replace("import torch", "import numpy as np").replace("torch.abs", "np.abs").replace(
    "terminated.float()", "terminated.astype(np.float32)")


def reward_of(code: str, tmp_path: Path, name: str = "reward.py") -> IsaacReward:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return load_isaac_reward(path)


def actions(step: int, num_envs: int = 6) -> torch.Tensor:
    """Some clipped; envs 0 and 1 push one way until they leave the rail (terminations)."""
    pushes = torch.sin(torch.arange(num_envs, dtype=torch.float32) + 0.7 * step) * 1.3
    pushes[0], pushes[1] = 1.3, -1.3
    return pushes[:, None]


def expected_total(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor):
    close = -torch.abs(next_obs[:, 0] - next_obs[:, 2])
    return 2.0 * close - 0.1 * action[:, 0] ** 2 - 10.0 * terminated.float()


def run_side_by_side(reward: IsaacReward, task_class: type = Slider, steps: int = STEPS):
    """The plain task and the task with the eureka reward, stepped with the same actions."""
    plain, eureka = task_class(), with_reward(task_class, reward)()
    rows = []
    for step in range(steps):
        before = plain.obs_buf.clone()
        _, plain_rew, plain_reset, _ = plain.step(actions(step))
        resets_seen = sorted({i for ids in plain.reset_calls[-1:] for i in ids}) if plain.reset_calls else []
        _, rew, reset, extras = eureka.step(actions(step))
        rows.append({"before": before, "plain": (plain.obs_buf.clone(), plain_rew, plain_reset,
                                                   plain.progress_buf.clone()),
                     "eureka": (eureka.obs_buf.clone(), rew, reset, eureka.progress_buf.clone()),
                     "extras": {k: (dict(v) if isinstance(v, dict) else v) for k, v in extras.items()},
                     "reset_calls": len(plain.reset_calls), "resets": resets_seen,
                     "clipped": torch.clamp(actions(step), -1.0, 1.0)})
    return plain, eureka, rows


@pytest.mark.parametrize("code", [TORCH_REWARD, NUMPY_REWARD], ids=["torch", "numpy"])
def test_rew_buf_is_the_generated_total_and_the_task_keeps_its_own_dynamics_resets_and_reward(code, tmp_path):
    reward = reward_of(code, tmp_path)
    assert reward.array_module == ("torch" if "import torch" in code else "numpy")
    plain, eureka, rows = run_side_by_side(reward)
    previous_calls = 0
    terminations = timeouts = 0
    for step, row in enumerate(rows):
        plain_obs, plain_rew, plain_reset, plain_progress = row["plain"]
        obs_buf, rew, reset, progress = row["eureka"]
        # the task's dynamics, observations, resets and episode counters are untouched
        assert torch.equal(obs_buf, plain_obs) and torch.equal(reset, plain_reset)
        assert torch.equal(progress, plain_progress)
        # its own reward is kept aside as the ground truth
        assert torch.equal(row["extras"][GT_REWARD_KEY], plain_rew)
        # the policy trains on the generated reward: obs is the one acted on, except after a reset
        fresh = torch.zeros(6, dtype=torch.bool)
        if row["reset_calls"] > previous_calls:
            fresh[row["resets"]] = True
        previous_calls = row["reset_calls"]
        obs = torch.where(fresh[:, None], plain_obs, row["before"]) if step else plain_obs
        timeout = plain_progress >= plain.max_episode_length - 1
        terminated = (plain_reset != 0) & ~timeout
        terminations += int(terminated.sum())
        timeouts += int(((plain_reset != 0) & timeout).sum())
        assert torch.allclose(rew, expected_total(obs, row["clipped"], plain_obs, terminated), atol=1e-6)
        components = row["extras"][COMPONENTS_KEY]
        assert sorted(components) == ["close", "effort", "fell"]
        assert all(value.shape == (6,) and value.dtype == torch.float32 for value in components.values())
        assert torch.allclose(components["fell"], -10.0 * terminated.float())
        sums = row["extras"][EPISODE_SUMS_KEY]
        assert sorted(sums) == ["eureka/close", "eureka/effort", "eureka/fell", "eureka/gt_reward", "eureka/total"]
        assert torch.equal(sums["eureka/total"], rew) and torch.equal(sums["eureka/gt_reward"], plain_rew)
        assert torch.equal(row["extras"]["time_outs"], (plain_reset != 0) & timeout)
    assert terminations > 0 and timeouts > 0  # both kinds of episode end were seen


def test_numpy_and_torch_forms_give_the_same_rewards(tmp_path):
    _, _, torch_rows = run_side_by_side(reward_of(TORCH_REWARD, tmp_path, "a.py"), steps=20)
    _, _, numpy_rows = run_side_by_side(reward_of(NUMPY_REWARD, tmp_path, "b.py"), steps=20)
    for a, b in zip(torch_rows, numpy_rows):
        assert torch.allclose(a["eureka"][1], b["eureka"][1], atol=1e-6)


def test_extra_reset_arguments_and_the_tasks_own_episode_sums_are_kept(tmp_path):
    _, eureka, rows = run_side_by_side(reward_of(TORCH_REWARD, tmp_path), task_class=GoalSlider, steps=15)
    assert "own_sum" in rows[-1]["extras"][EPISODE_SUMS_KEY] and "eureka/total" in rows[-1]["extras"][EPISODE_SUMS_KEY]
    assert type(eureka).__name__ == "EurekaGoalSlider" and isinstance(eureka, GoalSlider)


def test_a_reward_cannot_change_the_tasks_buffers_through_its_inputs(tmp_path):
    vandal = reward_of("""
        import torch

        def compute_reward(obs, action, next_obs, terminated):
            obs[:] = 99.0
            next_obs[:] = 99.0
            action[:] = 99.0
            terminated[:] = True
            return torch.zeros(obs.shape[0]), {}
        """, tmp_path)
    plain, eureka, rows = run_side_by_side(vandal, steps=10)
    for row in rows:
        assert torch.equal(row["eureka"][0], row["plain"][0]) and torch.equal(row["eureka"][2], row["plain"][2])
        assert torch.equal(row["extras"][GT_REWARD_KEY], row["plain"][1])


FAILING = {
    "nan": ("return obs[:, 0] / 0.0 * 0.0, {}", "not finite in 6 of 6 envs"),
    "inf component": ("return obs[:, 0], {'boom': obs[:, 0] * 0.0 + float('inf')}", "component 'boom' is not finite"),
    "column": ("return obs[:, :1], {}", "total has shape (6, 1), expected (6,)"),
    "scalar": ("return obs[:, 0].sum(), {}", "total has shape (), expected (6,)"),
    "summed component": ("return obs[:, 0], {'all': obs.sum()}", "component 'all' has shape ()"),
    "one value": ("return obs[:, 0]", "must return (total, components dict), got Tensor"),
    "list of components": ("return obs[:, 0], [obs[:, 0]]", "must return (total, components dict), got tuple"),
    "raises": ("return obs[:, 7], {}", "raised IndexError"),
    "numeric names": ("return obs[:, 0], {1: obs[:, 0]}", "component names must be strings"),
}


@pytest.mark.parametrize("body,message", FAILING.values(), ids=FAILING.keys())
def test_a_broken_reward_is_that_candidates_failure(body, message, tmp_path):
    reward = reward_of(f"import torch\n\ndef compute_reward(obs, action, next_obs, terminated):\n    {body}\n",
                       tmp_path)
    task = with_reward(Slider, reward)()
    with pytest.raises(RewardFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
        task.step(actions(0))
    plain = Slider()  # the failed step left the task's own reward and resets in its buffers
    plain.step(actions(0))
    assert torch.equal(task.rew_buf, plain.rew_buf) and torch.equal(task.reset_buf, plain.reset_buf)


def test_evaluate_reward_casts_flags_and_doubles_to_the_tasks_float32():
    obs = torch.zeros((3, 2))
    reward = IsaacReward(lambda o, a, n, t: (np.ones(3, dtype=np.float64), {"ended": t}), "numpy", "inline")
    step = evaluate_reward(reward, obs, torch.zeros((3, 1)), obs, torch.tensor([True, False, True]))
    assert step.total.dtype == torch.float32 and step.components["ended"].tolist() == [1.0, 0.0, 1.0]


def test_the_array_module_comes_from_the_reward_files_imports(tmp_path):
    assert reward_of("import math\n\ndef compute_reward(o, a, n, t):\n    return o[:, 0], {}\n",
                     tmp_path, "m.py").array_module == "numpy"
    assert reward_of("import torch as th\n\ndef compute_reward(o, a, n, t):\n    return o[:, 0], {}\n",
                     tmp_path, "t.py").array_module == "torch"
    jax_like = tmp_path / "j.py"
    jax_like.write_text("import types\njnp = types.ModuleType('jax.numpy')\n\ndef compute_reward(o, a, n, t):\n"
                        "    return o, {}\n")
    with pytest.raises(ValueError, match="jax reward cannot run in Isaac Gym"):
        load_isaac_reward(jax_like)
    no_function = tmp_path / "none.py"
    no_function.write_text("X = 1\n")
    with pytest.raises(AttributeError, match="no function compute_reward"):
        load_isaac_reward(no_function)


def test_the_adapter_is_self_contained(tmp_path):
    """`eureka export` copies the module as it is: it imports nothing of eureka, nor Isaac Gym
    outside `if TYPE_CHECKING:`."""
    tree = ast.parse(ADAPTER.read_text(), feature_version=(3, 8))  # Isaac Gym Preview 4's Pythons: 3.6-3.8
    runtime = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name for node in runtime if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in runtime if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in names} <= {"__future__", "importlib", "math", "types", "dataclasses",
                                                       "pathlib", "typing", "numpy", "torch"}
    shutil.copy(ADAPTER, tmp_path / "isaac_reward.py")
    script = ("import sys; sys.path.insert(0, '.'); import isaac_reward; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('eureka', 'isaacgym', 'isaacgymenvs')))")
    proc = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr[-2000:]


def basedpyright() -> str:
    """The checker, where isaacgym-stubs are installed (both come with the dev extra)."""
    from importlib import metadata

    found = shutil.which("basedpyright")
    if found is None:
        missing("basedpyright (the dev extra)")
    try:
        metadata.version("isaacgym-stubs")
    except metadata.PackageNotFoundError:
        missing("isaacgym-stubs (the isaacgym extra)")
    return str(found)


def test_the_adapter_passes_a_strict_static_check_against_isaacgym_stubs():
    proc = subprocess.run([basedpyright(), "--outputjson"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    assert report["summary"]["filesAnalyzed"] == 1
    assert proc.returncode == 0 and report["summary"]["errorCount"] == 0, report["generalDiagnostics"]


def test_the_static_check_sees_isaac_gyms_types(tmp_path):
    """The check is not vacuous: the stubs' Gym.simulate(Sim) refuses a string."""
    (tmp_path / "adapter.py").write_text(ADAPTER.read_text() + textwrap.dedent("""

        def misuse(task: VecTaskSurface) -> None:
            task.gym.simulate(task.device)
        """))
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text().replace(
        'include = ["eureka/envs/isaacgym_reward.py"]', 'include = ["adapter.py"]'))
    proc = subprocess.run([basedpyright()], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert '"str" cannot be assigned to parameter "arg0" of type "Sim"' in proc.stdout, proc.stdout[-3000:]
