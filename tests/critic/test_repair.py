"""The critic's deterministic auto-repair of free-form code from a small model, on snippets like the
ones the embedded 1.5B model writes for a relational task (point_goal: a point must reach a goal
whose position is in the observation). The probe runs in the real sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from eureka.critic.checks import Critic
from eureka.critic.repair import action_column, per_transition, repair_source
from eureka.envs import sample_transitions, space_info
from eureka.envs.base import SpaceInfo
from eureka.sandbox import SandboxLimits
from eureka.task import load_task

ROOT = Path(__file__).resolve().parents[2]
NUMPY = SpaceInfo(obs_dim=6, action_kind="continuous", action_dim=2, array_module="numpy")
JAX = SpaceInfo(obs_dim=6, action_kind="continuous", action_dim=2, array_module="jax")
ONE_ACTION = SpaceInfo(obs_dim=4, action_kind="continuous", action_dim=1, array_module="numpy")

SQRT_ON_ARRAYS = """import numpy as np
import math

def compute_reward(obs, action, next_obs, terminated):
    dx = next_obs[:, 0] - next_obs[:, 4]
    dy = next_obs[:, 1] - next_obs[:, 5]
    distance = math.sqrt(dx ** 2 + dy ** 2)
    speed = sqrt(next_obs[:, 2] ** 2 + next_obs[:, 3] ** 2)
    near = math.exp(-distance / 0.1)
    total = -distance + 0.5 * near - 0.1 * speed
    return total, {"distance": -distance, "near": near, "speed": -speed}
"""

NAMES_AT_MODULE_LEVEL = """import numpy as np

# positions of the point and the goal
point = next_obs[:, 0:2]
goal = next_obs[:, 4:6]
W_DISTANCE = 1.0

def compute_reward(obs, action, next_obs, terminated):
    distance = np.linalg.norm(point - goal, axis=1)
    speed = np.linalg.norm(next_obs[:, 2:4], axis=1)
    return total, components

total = -W_DISTANCE * distance - 0.1 * speed
components = {"distance": -distance, "speed": -speed}
"""

WHOLE_BATCH_NORM = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    point = next_obs[:, 0:2]
    goal = next_obs[:, 4:6]
    distance = np.linalg.norm(point - goal)
    moving = np.abs(next_obs[:, 2:4]).sum() > 0.2
    total = -distance - 0.5 * moving
    return total, {"distance": -distance, "moving": -0.5 * moving}
"""

# real replies of the embedded model to the free-form prompts of point_goal and heading (a ship whose
# heading psi must reach a target; one torque action), from bench/free_form_repairs.py
EMBEDDED_MODEL_REPLY = """import numpy as np

# Constants
W_UPRIGHT = 0.8  # Weight for upright orientation
W_GOAL_REACH = 0.4  # Weight for reaching the goal
W_STILL = 0.2  # Weight for staying still

W_FORCE = 1.0  # Weight for the applied force

T_UPRIGHT = 0.1  # Temperature for upright orientation
T_GOAL_REACH = 0.2  # Temperature for reaching the goal
T_STILL = 0.5  # Temperature for staying still

T_FORCE = 1.0  # Temperature for the applied force

def compute_reward(obs, action, next_obs, terminated):
    # Upright orientation
    upright = np.abs(obs[:, 0] - obs[:, 2]) < T_UPRIGHT and np.abs(obs[:, 1] - obs[:, 3]) < T_UPRIGHT
    upright_reward = upright * W_UPRIGHT

    # Goal reached
    goal_reached = np.linalg.norm(obs[:, [4, 5]] - next_obs[:, [4, 5]]) < T_GOAL_REACH
    goal_reached_reward = goal_reached * W_GOAL_REACH

    # Still
    still = np.abs(next_obs[:, [2, 3]] - next_obs[:, [0, 1]]).mean() < T_STILL
    still_reward = still * W_STILL

    # Force
    force = np.linalg.norm(action) * T_FORCE
    force_reward = force * W_FORCE

    # Total reward
    total_reward = upright_reward + goal_reached_reward + still_reward + force_reward

    # Components
    components = {
        "upright": upright_reward,
        "goal_reach": goal_reached_reward,
        "still": still_reward,
        "force": force_reward
    }

    return total_reward, components
"""

HEADING_REPLY = """import numpy as np
import math

# Constants
W_UPRIGHT = 1.0
T_UPRIGHT = 1.0
W_TORQUE = 0.5
T_TORQUE = 0.5
W_TERMINATED = 0.1
T_TERMINATED = 0.1
W_TARGET = 1.0
T_TARGET = 0.1

def compute_reward(obs, action, next_obs, terminated):
    cos_psi, sin_psi, turn_rate, target = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 3]
    next_cos_psi, next_sin_psi = next_obs[:, 0], next_obs[:, 1]

    # Heading error
    heading_error = np.clip(target - cos_psi, -1, 1)
    reward_heading = W_TARGET * T_TARGET * heading_error

    # Torque
    torque = action
    reward_torque = W_TORQUE * T_TORQUE * torque

    # Terminal state
    reward_terminated = W_TERMINATED * T_TERMINATED * terminated

    # Total reward
    total_reward = reward_heading + reward_torque + reward_terminated

    # Components of the reward
    components = {
        'heading_error': heading_error,
        'torque': torque,
        'terminated': terminated
    }

    return total_reward, components
"""

HEADING_MEANS = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    cos_psi = obs[:, 0]
    turn_rate = obs[:, 2]
    target_heading = obs[:, 3]
    target_error = target_heading - cos_psi
    torque_error = action
    total = -10.0 * np.mean(np.abs(target_error)) - np.mean(np.abs(torque_error)) - np.mean(np.abs(turn_rate))
    components = {'target_error': target_error, 'torque_error': torque_error, 'angle_error': turn_rate}
    return total, components
"""


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def task_critic(sandbox, name: str) -> Critic:
    task = load_task(ROOT / "tests" / "data" / "tasks" / f"{name}.yaml")
    space = space_info(task.env)
    transitions = sample_transitions(task.env, 512, seed=0)
    return Critic(sandbox, space, transitions, SandboxLimits(timeout_s=30, memory_mb=1024), fitness=task.fitness)


@pytest.fixture(scope="module")
def critics(sandbox):
    return {name: task_critic(sandbox, name) for name in ("point_goal", "heading")}


@pytest.mark.parametrize("task, code, fails_with, fix", [
    ("point_goal", SQRT_ON_ARRAYS, "TypeError", "`math.sqrt` as `np.sqrt`"),
    ("point_goal", NAMES_AT_MODULE_LEVEL, "NameError", "moved 4 module-level statement(s)"),
    ("point_goal", WHOLE_BATCH_NORM, "has shape ()", "made 2 reduction(s) with no axis per transition"),
    ("point_goal", EMBEDDED_MODEL_REPLY, "truth value of an array", "`and`/`or` between comparisons"),
    ("heading", HEADING_REPLY, "has shape (512, 512)", "used the one-column action as `action[:, 0]`"),
    ("heading", HEADING_MEANS, "has shape ()", "made 3 reduction(s) with no axis per transition"),
])
def test_the_small_models_slips_fail_as_written_and_pass_repaired(critics, task: str, code: str, fails_with: str,
                                                                  fix: str) -> None:
    critic = critics[task]
    _, as_written = critic.check_reply(fenced(code), auto_repair=False)
    assert not as_written.accepted and any(fails_with in p for p in as_written.problems), as_written.problems
    repaired_code, verdict = critic.check_reply(fenced(code))
    assert verdict.stage in ("passed", "ranking"), verdict.problems  # it runs and has the right shapes
    assert any(fix in f for f in verdict.fixes), verdict.fixes
    if code is not HEADING_MEANS:  # no whole-batch value left to broadcast
        assert "_eureka_unrepaired_reward" not in repaired_code
    else:  # its (N, 1) component is squeezed; the reductions made its total per transition
        assert verdict.fixes[-1] == "broadcast or squeezed a scalar or (N, 1) output to shape (N,)"


def test_the_repairs_of_the_embedded_models_reply(critics) -> None:
    code, verdict = critics["point_goal"].check_reply(fenced(EMBEDDED_MODEL_REPLY))
    assert "((np.abs(obs[:, 0] - obs[:, 2]) < T_UPRIGHT) & (np.abs(obs[:, 1] - obs[:, 3]) < T_UPRIGHT))" in code
    assert "np.linalg.norm(_eureka_rows(action), axis=-1)" in code
    assert "_eureka_rows(np.abs(next_obs[:, [2, 3]] - next_obs[:, [0, 1]])).mean(axis=-1) < T_STILL" in code
    assert len(verdict.fixes) == 2 and "made 3 reduction(s)" in verdict.fixes[1]


def test_math_functions_become_the_array_modules_elementwise_ones() -> None:
    code, fixes = repair_source(SQRT_ON_ARRAYS.replace("import math\n", "import math\nfrom math import pi, exp\n")
                                .replace("math.exp(", "exp("), NUMPY)
    assert "np.sqrt(dx ** 2" in code and "np.sqrt(next_obs" in code and "np.exp(-distance" in code
    assert "from math import pi\n" in code  # a constant stays imported
    assert len(fixes) == 1 and "math functions take one number" in fixes[0]
    jax_code, _ = repair_source("import jax.numpy as jnp\nimport math\n" + SQRT_ON_ARRAYS.split("\n", 2)[2], JAX)
    assert "jnp.sqrt(dx" in jax_code and "jnp.exp(" in jax_code
    untouched = ("import math\nimport numpy as np\n\ndef sqrt(x):\n    return x ** 0.5\n\n"
                 "def compute_reward(obs, action, next_obs, terminated):\n"
                 "    d = sqrt(obs[:, 0] ** 2) * math.pi + math.log(2.0, 10)\n    return d, {'d': d}\n")
    assert repair_source(untouched, NUMPY) == (untouched, [])  # its own sqrt; log with a base; a constant


def test_and_between_comparisons_is_elementwise_but_not_in_an_if() -> None:
    code = ("import numpy as np\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
            "    near = obs[:, 0] < 0.1 and (obs[:, 1] < 0.1 or obs[:, 2] > 0.5)\n"
            "    if obs.shape[0] > 0 and obs.shape[1] == 6:\n        near = near * 1.0\n"
            "    return near, {'near': near}\n")
    repaired, fixes = repair_source(code, NUMPY)
    assert "near = ((obs[:, 0] < 0.1) & ((obs[:, 1] < 0.1) | (obs[:, 2] > 0.5)))\n" in repaired
    assert "if obs.shape[0] > 0 and obs.shape[1] == 6:" in repaired
    assert fixes == ["rewrote 2 `and`/`or` between comparisons as elementwise `&`/`|`"]


def test_module_level_statements_move_where_their_inputs_are_bound() -> None:
    repaired, fixes = repair_source(NAMES_AT_MODULE_LEVEL, NUMPY)
    body = next(n for n in ast.parse(repaired).body if isinstance(n, ast.FunctionDef)).body
    assert [ast.unparse(s).split(" =")[0] for s in body] == ["point", "goal", "distance", "speed", "total",
                                                             "components", "return (total, components)"]
    assert "W_DISTANCE = 1.0\n" in repaired and repaired.count("point = next_obs") == 1
    assert fixes == ["moved 4 module-level statement(s) that use the reward's arguments or variables into "
                     "`compute_reward` (components, goal, point, total)"]
    # needs a value the function computes only after it uses the statement's result: left alone
    knot = ("import numpy as np\nd = x * 2\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
            "    y = d + 1\n    x = obs[:, 0]\n    return y, {'y': y}\n")
    assert repair_source(knot, NUMPY) == (knot, [])


def test_reductions_with_no_axis_become_per_transition_and_only_those() -> None:
    code = ("import numpy as np\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
            "    a = np.sum(np.abs(obs).mean() ** 2) + np.mean(obs, axis=0)[0] + np.max([obs[:, 0], obs[:, 1]])\n"
            "    b = np.linalg.norm(obs[:, :2], 2) + np.max(obs[:, 0], 0)\n"
            "    return a + b, {'a': a, 'b': b}\n")
    repaired, count = per_transition(code, NUMPY)
    assert count == 3
    assert "np.sum(_eureka_rows(_eureka_rows(np.abs(obs)).mean(axis=-1) ** 2), axis=-1)" in repaired
    assert "np.linalg.norm(_eureka_rows(obs[:, :2]), 2, axis=-1)" in repaired
    assert "np.mean(obs, axis=0)" in repaired and "np.max([obs[:, 0], obs[:, 1]])" in repaired
    assert "np.max(obs[:, 0], 0)" in repaired
    assert "import numpy as _eureka_xp" in repaired and "import jax.numpy as _eureka_xp" in per_transition(code, JAX)[0]
    assert per_transition(repaired, NUMPY) == (repaired, 0)


def test_a_one_column_action_is_used_as_its_column() -> None:
    code = ("import numpy as np\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
            "    cost = np.clip(action, -1, 1) ** 2 + 0 * action[:, 0] + action.shape[0] + np.sum(action, axis=1)\n"
            "    return -cost, {'cost': -cost}\n")
    repaired, uses = action_column(code, ONE_ACTION)
    assert uses == 1 and "np.clip(action[:, 0], -1, 1)" in repaired
    assert "0 * action[:, 0] + action.shape[0] + np.sum(action, axis=1)" in repaired
    assert action_column(code, NUMPY) == (code, 0)  # two action columns: nothing to guess


@pytest.mark.slow
def test_the_repairs_hold_on_the_jax_backend(sandbox) -> None:
    """The repaired reward traces, serializes and gives one value per transition under jax too."""
    from tests.helpers import require

    require("jax", "jax")
    task = load_task(ROOT / "tests" / "data" / "tasks" / "point_goal_jax.yaml")
    space = space_info(task.env)
    critic = Critic(sandbox, space, sample_transitions(task.env, 512, seed=0),
                    SandboxLimits(timeout_s=120, memory_mb=2048), fitness=task.fitness)
    reply = fenced("import jax.numpy as jnp\nimport math\n\npoint = next_obs[:, 0:2]\n\n"
                   "def compute_reward(obs, action, next_obs, terminated):\n"
                   "    goal = next_obs[:, 4:6]\n    distance = jnp.linalg.norm(point - goal)\n"
                   "    speed = math.sqrt(jnp.sum(next_obs[:, 2:4] ** 2))\n    total = -distance - 0.1 * speed\n"
                   "    return total, {'distance': -distance, 'speed': -speed}\n")
    assert "NameError" in critic.check_reply(reply, auto_repair=False)[1].problems[0]
    code, verdict = critic.check_reply(reply)
    assert verdict.accepted, verdict.problems
    assert "jnp.sqrt(jnp.sum(_eureka_rows(next_obs[:, 2:4] ** 2), axis=-1))" in code
    assert len(verdict.fixes) == 3
