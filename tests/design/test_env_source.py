"""Env source without its reward, on the real code of each backend's envs."""

from __future__ import annotations

import ast
import textwrap

import pytest

from eureka.design.env_source import is_reward_name, without_reward
from eureka.design.prompts import original_source
from tests.helpers import require

# (import path, an expression of the env's reward that must go, dynamics that must stay)
GYMNAX = [
    ("gymnax.environments.classic_control.cartpole:CartPole.step_env", "1.0 - prev_terminal",
     "theta_dot = state.theta_dot + params.tau * thetaacc"),
    ("gymnax.environments.classic_control.pendulum:Pendulum.step_env", "0.1 * state.theta_dot ** 2",
     "newth = state.theta + newthdot * params.dt"),
    ("gymnax.environments.classic_control.mountain_car:MountainCar.step_env", "reward = -1.0",
     "position = state.position + velocity"),
    ("gymnax.environments.classic_control.continuous_mountain_car:ContinuousMountainCar.step_env",
     "-0.1 * action ** 2", "position = state.position + velocity"),
    ("gymnax.environments.classic_control.acrobot:Acrobot.step_env", "-1.0 * (1 - done_angle)",
     "ns = rk4(s_augmented, params)"),
    ("gymnax.environments.minatar.breakout:MinBreakout.step_env", "reward.astype(jnp.float32)",
     "state, new_x, new_y = step_agent(state, a)"),
    ("gymnax.environments.minatar.breakout:step_ball_brick", "reward += strike_bool * 1.0",
     "brick_map = jax.lax.select(strike_bool"),
    ("gymnax.environments.minatar.space_invaders:step_shoot", "jnp.sum(kill_locations)",
     "alien_shot_cond = state.alien_shot_timer == 0"),
]
GYMNASIUM = [
    ("gymnasium.envs.classic_control.cartpole:CartPoleEnv.step", "reward = 0.0 if self._sutton_barto_reward",
     "xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass"),
    ("gymnasium.envs.classic_control.pendulum:PendulumEnv.step", "0.1 * thdot ** 2",
     "newth = th + newthdot * dt"),
    ("gymnasium.envs.classic_control.continuous_mountain_car:Continuous_MountainCarEnv.step",
     "math.pow(action[0], 2) * 0.1", "position += velocity"),
    ("gymnasium.envs.classic_control.acrobot:AcrobotEnv.step", "-1.0 if not terminated else 0.0",
     "ns = rk4(self._dsdt, s_augmented, [0, self.dt])"),
    ("gymnasium.envs.mujoco.ant_v5:AntEnv", "self._ctrl_cost_weight * np.sum(np.square(action))",
     "self.do_simulation(action, self.frame_skip)"),
    ("gymnasium.envs.mujoco.half_cheetah_v5:HalfCheetahEnv", "self._forward_reward_weight * x_velocity",
     "x_velocity = (x_position_after - x_position_before) / self.dt"),
]
BRAX = [("brax.envs.ant:Ant", "forward_reward + healthy_reward - ctrl_cost - contact_cost",
         "pipeline_state = self.pipeline_step(pipeline_state0, action)")]
CRAFTAX = [("craftax.craftax_classic.game_logic:craftax_step", "reward = achievement_reward",
            "state = update_mobs(_rng, state, params, static_params)")]


def squeeze(text: str) -> str:
    return "".join(text.split())


def check(path: str, reward: str, dynamics: str) -> str:
    original = original_source(path)
    shown = without_reward(original)
    ast.parse(shown)  # still Python
    assert squeeze(reward) in squeeze(ast.unparse(ast.parse(textwrap.dedent(original))))  # it was there
    assert squeeze(reward) not in squeeze(shown)
    assert squeeze(dynamics) in squeeze(shown)
    nodes = list(ast.walk(ast.parse(shown)))
    names = {n.id for n in nodes if isinstance(n, ast.Name)} | {n.attr for n in nodes if isinstance(n, ast.Attribute)}
    names |= {n.name for n in nodes if isinstance(n, ast.FunctionDef)}
    names |= {n.arg for n in nodes if isinstance(n, ast.arg)}
    assert not {n for n in names if is_reward_name(n)}, shown
    assert '"""' not in shown and "#" not in shown.replace("'#'", "")
    return shown


@pytest.mark.parametrize("path,reward,dynamics", GYMNAX, ids=lambda v: v.split(":")[-1] if ":" in v else "-")
def test_gymnax_envs(path, reward, dynamics):
    check(path, reward, dynamics)


@pytest.mark.parametrize("path,reward,dynamics", GYMNASIUM, ids=lambda v: v.split(":")[-1] if ":" in v else "-")
def test_gymnasium_envs(path, reward, dynamics):
    if ".mujoco." in path:
        require("mujoco", "mujoco")
    check(path, reward, dynamics)


@pytest.mark.parametrize("path,reward,dynamics", BRAX)
def test_brax_envs(path, reward, dynamics):
    require("brax", "brax (the envs extra)")
    shown = check(path, reward, dynamics)
    assert "ctrl_cost_weight" not in shown and "healthy_reward" not in shown  # constructor weights too


@pytest.mark.parametrize("path,reward,dynamics", CRAFTAX)
def test_craftax(path, reward, dynamics):
    require("craftax", "craftax (the envs extra)")
    check(path, reward, dynamics)


def test_dead_code_goes_and_shared_values_stay():
    shown = without_reward('''
def step_env(self, key, state, action, params):
    prev_done = self.is_terminal(state, params)   # feeds only the reward
    speed = state.v + action
    bonus = jnp.where(prev_done, 0.0, speed)      # named like a reward
    if params.dense:
        reward = bonus * 2
    else:
        reward = bonus
    info = {"reward_dense": reward, "speed": speed, **rewards}
    metrics.update(reward_run=reward, x=speed)
    return obs(state), state, reward, speed > 1, info
''')
    assert "prev_done" not in shown and "bonus" not in shown and "if params.dense" not in shown
    assert "speed = state.v + action" in shown
    assert "info = {'speed': speed}" in shown and "metrics.update(x=speed)" in shown
    assert "return (obs(state), state, ..., speed > 1, info)" in shown


def test_signatures_lose_reward_parameters():
    shown = without_reward('''
class Env:
    """An env; the reward is 1 per step."""
    reward_scale: float = 2.0

    def __init__(self, forward_reward_weight=1.0, ctrl_cost_weight=0.1, dt=0.05, *, healthy_reward=1.0, n=3):
        self._forward_reward_weight = forward_reward_weight
        self.dt = dt

    def _get_rew(self, x):
        return x
''')
    assert "def __init__(self, dt=0.05, *, n=3):" in shown
    assert "reward" not in shown.lower() and "_get_rew" not in shown and "cost" not in shown


# -- an Isaac Gym task (IsaacGymEnvs' style), read without importing it -------------------------------
CRAWLER = "tests.data.isaac.crawler"


def test_isaac_gym_task_loses_compute_reward_its_jit_reward_and_rew_buf_writes():
    import importlib.util
    import sys

    from eureka.design.prompts import env_sources, static_source
    from eureka.task import load_task
    from tests.helpers import ROOT

    original = (ROOT / "tests" / "data" / "isaac" / "crawler.py").read_text()
    task = load_task(ROOT / "tests" / "data" / "tasks" / "isaac_crawler.yaml")
    snippets = env_sources(task)
    assert [s.name for s in snippets] == [f"{CRAWLER}:Crawler", f"{CRAWLER}:compute_crawler_observations"]
    assert CRAWLER not in sys.modules  # read from the file: importing it would import Isaac Gym
    if importlib.util.find_spec("isaacgym") is None:
        with pytest.raises(ImportError):
            original_source(f"{CRAWLER}:Crawler")
    task_class, observations = (s.code for s in snippets)
    for shown in (task_class, observations):
        ast.parse(shown)
        for gone in ("rew_buf", "compute_reward", "compute_crawler_reward", "heading_reward", "death_cost",
                     "actionsCost", "electricity_cost", "alive_bonus", "rewardScale", "reward_scale",
                     "episode_cumulative", "potentials - self.prev_potentials", "'''", "#"):
            assert gone not in shown, gone
    for reward in ("progress_reward + alive_bonus + up_reward + heading_reward",
                   "self.rew_buf[:] *= self.reward_scale", "self.compute_reward(self.actions)"):
        assert squeeze(reward) in squeeze(original)
    # the dynamics, observations and resets stay, and so does the jit decorator
    for kept in ("self.compute_observations()", "self.reset_idx(env_ids)", "def pre_physics_step(self, actions):",
                 "self.gym.set_dof_actuation_force_tensor(self.sim, gymtorch.unwrap_tensor(forces))",
                 "self.progress_buf[env_ids] = 0", "self.termination_height = self.cfg['env']['terminationHeight']"):
        assert squeeze(kept) in squeeze(task_class), kept
    assert observations.startswith("@torch.jit.script\ndef compute_crawler_observations(")
    assert "potentials = -torch.norm(to_target, p=2, dim=-1) / dt" in observations
    assert static_source(f"{CRAWLER}:Crawler.reset_idx").lstrip().startswith("def reset_idx(self, env_ids):")
    with pytest.raises(LookupError, match="no class or function 'Crawler.missing'"):
        static_source(f"{CRAWLER}:Crawler.missing")
    with pytest.raises(ImportError, match="no Python source file"):
        static_source("tests.data.isaac.nothing_here:Crawler")


def test_a_mixed_tuple_target_keeps_the_reset_and_loses_the_reward():
    shown = without_reward('''
def post_physics_step(self):
    self.progress_buf += 1
    self.rew_buf[:], self.reset_buf[:] = compute_ant_reward(self.obs_buf, self.reset_buf)
    self.compute_reward(self.actions)
    self.compute_observations()
''')
    ast.parse(shown)
    assert "_, self.reset_buf[:] = ...(self.obs_buf, self.reset_buf)" in shown
    assert "compute_reward" not in shown and "self.compute_observations()" in shown
