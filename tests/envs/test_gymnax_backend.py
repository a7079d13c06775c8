"""The gymnax backend: env creation, transitions with true terminal flags, the trace check."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from eureka.envs import gymnax_backend
from eureka.envs.base import SpaceInfo
from eureka.task import EnvSpec

pytestmark = pytest.mark.timeout(120, method="thread")

CARTPOLE = EnvSpec(backend="jax", id="CartPole-v1")
PENDULUM = EnvSpec(backend="jax", id="Pendulum-v1")
CARTPOLE_X_LIMIT, CARTPOLE_THETA_LIMIT = 2.4, 12 * 2 * np.pi / 360


@pytest.fixture(scope="module")
def cartpole_transitions():
    return gymnax_backend.sample_transitions(CARTPOLE, count=512, seed=0)


@pytest.fixture(scope="module")
def cartpole_info() -> SpaceInfo:
    return gymnax_backend.space_info(CARTPOLE)


def test_space_info_describes_discrete_and_continuous_envs(cartpole_info):
    assert cartpole_info == SpaceInfo(4, "discrete", 2, "jax")
    assert gymnax_backend.space_info(PENDULUM) == SpaceInfo(3, "continuous", 1, "jax")


def test_env_kwargs_set_params_and_unknown_ids_fail():
    _, params = gymnax_backend.make_env(
        EnvSpec(backend="jax", id="CartPole-v1", kwargs={"gravity": 20.0}, max_episode_steps=50)
    )
    assert params.gravity == 20.0 and params.max_steps_in_episode == 50
    with pytest.raises(ValueError, match="not a gymnax env id"):
        gymnax_backend.make_env(EnvSpec(backend="jax", id="NoSuchEnv-v0"))


def test_transitions_have_batched_shapes_and_follow_each_other(cartpole_transitions):
    t = cartpole_transitions
    assert len(t) == 512
    assert t.obs.shape == t.next_obs.shape == (512, 4) and t.obs.dtype == np.float32
    assert t.action.shape == (512,) and set(np.unique(t.action)) <= {0, 1}
    assert t.env_reward.shape == t.terminated.shape == t.truncated.shape == (512,)
    ended = t.terminated | t.truncated
    # Within an episode each step starts where the previous one ended; after an end, a reset.
    np.testing.assert_array_equal(t.next_obs[:-1][~ended[:-1]], t.obs[1:][~ended[:-1]])
    assert not np.allclose(t.next_obs[:-1][ended[:-1]], t.obs[1:][ended[:-1]])


def test_terminated_marks_real_terminal_states_not_resets(cartpole_transitions):
    t = cartpole_transitions
    outside = (np.abs(t.next_obs[:, 0]) > CARTPOLE_X_LIMIT) | (
        np.abs(t.next_obs[:, 2]) > CARTPOLE_THETA_LIMIT
    )
    assert t.terminated.sum() > 5  # a random policy drops the pole every ~20 steps
    np.testing.assert_array_equal(t.terminated, outside)
    assert not t.truncated.any()


def test_time_limit_is_truncation_not_termination():
    t = gymnax_backend.sample_transitions(
        EnvSpec(backend="jax", id="Pendulum-v1", max_episode_steps=10), count=40, seed=3
    )
    assert t.action.shape == (40, 1) and t.action.dtype == np.float32
    np.testing.assert_array_equal(np.flatnonzero(t.truncated), [9, 19, 29, 39])
    assert not t.terminated.any()


def test_transitions_depend_on_the_seed_only():
    a = gymnax_backend.sample_transitions(CARTPOLE, count=64, seed=1)
    b = gymnax_backend.sample_transitions(CARTPOLE, count=64, seed=1)
    c = gymnax_backend.sample_transitions(CARTPOLE, count=64, seed=2)
    np.testing.assert_array_equal(a.obs, b.obs)
    assert not np.array_equal(a.obs, c.obs)


# ----------------------------------------------------------------------------- trace_check


def sensible(obs, action, next_obs, terminated):
    upright = 1.0 - jnp.abs(next_obs[:, 2])
    fall = -10.0 * terminated.astype(jnp.float32)
    return upright + fall, {"upright": upright, "fall": fall}


def python_if_on_scalar(obs, action, next_obs, terminated):
    if jnp.mean(next_obs[:, 2]) > 0:
        return next_obs[:, 2], {}
    return -next_obs[:, 2], {}


def python_if_on_batch(obs, action, next_obs, terminated):
    if next_obs[:, 2] > 0:
        return next_obs[:, 2], {}
    return -next_obs[:, 2], {}


def summed_over_batch(obs, action, next_obs, terminated):
    return jnp.sum(jnp.abs(next_obs[:, 2])), {"tilt": jnp.abs(next_obs[:, 2])}


def outer_product_shape(obs, action, next_obs, terminated):
    return next_obs[:, 0][:, None] - obs[:, 0], {}


def component_wrong_shape(obs, action, next_obs, terminated):
    return next_obs[:, 2], {"tilt": next_obs[:, 2:3]}


def components_not_a_dict(obs, action, next_obs, terminated):
    return next_obs[:, 2], [next_obs[:, 2]]


def total_only(obs, action, next_obs, terminated):
    return next_obs[:, 2]


def index_out_of_range(obs, action, next_obs, terminated):
    return next_obs[:, 5], {}


def log_of_negative(obs, action, next_obs, terminated):
    return jnp.log(next_obs[:, 0]), {}


def batch_normalised(obs, action, next_obs, terminated):
    tilt = jnp.abs(next_obs[:, 2])
    return tilt - tilt.mean(), {}


def in_place_write(obs, action, next_obs, terminated):
    reward = jnp.zeros(obs.shape[0])
    reward[terminated] = -1.0
    return reward, {}


def undefined_name(obs, action, next_obs, terminated):
    return next_obs[:, 2] * pole_length, {}  # noqa: F821


def test_trace_check_passes_a_sensible_reward(cartpole_info, cartpole_transitions):
    assert gymnax_backend.trace_check(sensible, cartpole_info, cartpole_transitions) == []


@pytest.mark.parametrize(
    ("reward_fn", "expected"),
    [
        (python_if_on_scalar, "jnp.where"),
        (python_if_on_batch, "jnp.where"),
        (summed_over_batch, "total reward must have shape (N,) = (512,)"),
        (outer_product_shape, "shape (512, 512)"),
        (component_wrong_shape, "component 'tilt' must have shape (N,)"),
        (components_not_a_dict, "must be a dict"),
        (total_only, "must return a pair"),
        (index_out_of_range, "index 5 is out of bounds"),
        (log_of_negative, "NaN or infinite"),
        (batch_normalised, "depends on the other transitions"),
        (in_place_write, ".at[idx].set"),
        (undefined_name, "NameError: name 'pole_length' is not defined"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_trace_check_explains_what_is_wrong(reward_fn, expected, cartpole_info,
                                            cartpole_transitions):
    problems = gymnax_backend.trace_check(reward_fn, cartpole_info, cartpole_transitions)
    assert problems, f"{reward_fn.__name__} passed the trace check"
    assert any(expected in p for p in problems), problems


def test_trace_errors_point_at_the_reward_line(cartpole_info, cartpole_transitions):
    (problem,) = gymnax_backend.trace_check(python_if_on_scalar, cartpole_info,
                                            cartpole_transitions)
    assert "if jnp.mean(next_obs[:, 2]) > 0:" in problem


def test_trace_check_handles_continuous_actions():
    info = gymnax_backend.space_info(PENDULUM)
    transitions = gymnax_backend.sample_transitions(PENDULUM, count=64, seed=0)

    def torque_cost(obs, action, next_obs, terminated):
        cost = 0.001 * action[:, 0] ** 2
        return -cost, {"torque": -cost}

    def torque_as_discrete(obs, action, next_obs, terminated):
        return -(action**2), {}  # (N, 1), not (N,)

    assert gymnax_backend.trace_check(torque_cost, info, transitions) == []
    assert gymnax_backend.trace_check(torque_as_discrete, info, transitions)
