"""Gymnax environments (the jax backend): creation, space description, random-policy
transitions, and the trace check a jax reward must pass before it joins a population.

Brax, Craftax and xminigrid envs (ids ``brax/<name>``, ``craftax/<name>``,
``xminigrid/<name>``) come in as gymnax envs
through `eureka.envs.compat`.

gymnax 0.0.9 merges termination and the time limit into one ``done`` flag and auto-resets
inside ``step``. Everything here steps with ``step_env`` instead, so the true next
observation is kept, and splits ``done`` into ``terminated`` (a terminal state of the task)
and ``truncated`` (the time limit) with `split_done`.
"""

from __future__ import annotations

import dataclasses
import importlib
import traceback
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

from eureka.envs import compat
from eureka.envs.base import SpaceInfo, Transitions
from eureka.envs.minatar import MinAtarEnv, is_minatar
from eureka.reward import RewardFn
from eureka.task import EnvSpec

# A time limit no episode reaches: `is_terminal` under it reports task termination only.
_NO_TIME_LIMIT = 2**30


def make_env(spec: EnvSpec) -> tuple[Environment, Any]:
    """Build a gymnax env and its params from the spec.

    `spec.kwargs` entries that name a field of the env's params (e.g. ``gravity``) replace
    that field; the rest go to the env's constructor. `spec.max_episode_steps` sets
    ``max_steps_in_episode``. MinAtar games come flattened (`eureka.envs.minatar`).
    """
    if spec.backend != "jax":
        raise ValueError(f"gymnax backend asked for an env of backend {spec.backend!r}")
    if compat.family(spec.id):
        return compat.make_compat_env(spec)
    probe = _construct(spec.id, {})
    param_fields = {f.name for f in dataclasses.fields(probe.default_params)}
    param_kwargs = {k: v for k, v in spec.kwargs.items() if k in param_fields}
    init_kwargs = {k: v for k, v in spec.kwargs.items() if k not in param_fields}
    env = _construct(spec.id, init_kwargs) if init_kwargs else probe
    params = env.default_params
    if spec.max_episode_steps:
        param_kwargs["max_steps_in_episode"] = spec.max_episode_steps
    if param_kwargs:
        params = params.replace(**param_kwargs)
    if is_minatar(spec.id):
        return MinAtarEnv(env), params
    return env, params


def _construct(env_id: str, kwargs: dict[str, Any]) -> Environment:
    if ":" in env_id:
        module_name, class_name = env_id.split(":", 1)
        env_cls = getattr(importlib.import_module(module_name), class_name)
        return env_cls(**kwargs)
    import gymnax

    if env_id not in gymnax.registered_envs:
        raise ValueError(
            f"{env_id!r} is not a gymnax env id (and not 'module:Class', 'brax/<name>', "
            "'craftax/<name>' or 'xminigrid/<name>')"
        )
    env, _ = gymnax.make(env_id, **kwargs)
    return env


def split_done(env: Environment, params: Any, next_state: Any, done: jax.Array):
    """Split gymnax's ``done`` into (terminated, truncated).

    Terminated means the task itself ended the episode; truncated means only the time limit
    did. Where both happen on the same step it counts as terminated.
    """
    done = jnp.asarray(done, bool).reshape(())
    if getattr(env, "is_terminal_task_only", False):  # brax, craftax, minatar and minigrid adapters
        terminated = jnp.asarray(env.is_terminal(next_state, params), bool).reshape(()) & done
        return terminated, done & ~terminated
    if not hasattr(params, "max_steps_in_episode"):
        return done, jnp.zeros((), bool)
    unlimited = params.replace(max_steps_in_episode=_NO_TIME_LIMIT)
    terminated = jnp.asarray(env.is_terminal(next_state, unlimited), bool).reshape(()) & done
    return terminated, done & ~terminated


def space_info(spec: EnvSpec) -> SpaceInfo:
    env, params = make_env(spec)
    obs_dim = int(np.prod(env.observation_space(params).shape))
    action_space = env.action_space(params)
    if is_discrete(action_space):
        return SpaceInfo(obs_dim, "discrete", int(action_space.n), "jax")
    return SpaceInfo(obs_dim, "continuous", int(np.prod(action_space.shape)), "jax")


def is_discrete(space: Any) -> bool:
    return isinstance(space, spaces.Discrete)


def sample_transitions(spec: EnvSpec, count: int = 512, seed: int = 0) -> Transitions:
    """Step one env with a uniformly random policy and record `count` transitions."""
    env, params = make_env(spec)
    action_space = env.action_space(params)

    def one_step(carry, key):
        obs, state = carry
        key_action, key_step, key_reset = jax.random.split(key, 3)
        action = action_space.sample(key_action)
        next_obs, next_state, reward, done, _ = env.step_env(key_step, state, action, params)
        terminated, truncated = split_done(env, params, next_state, done)
        ended = terminated | truncated
        # One env, not vmapped: `cond` skips the reset (a whole world for Craftax) mid-episode.
        carry = jax.lax.cond(
            ended,
            lambda: env.reset_env(key_reset, params),
            lambda: (next_obs, next_state),
        )
        row = (obs, action, next_obs, terminated, truncated, jnp.reshape(reward, ()))
        return carry, row

    @jax.jit
    def rollout(key):
        key_reset, key_steps = jax.random.split(key)
        first = env.reset_env(key_reset, params)
        _, rows = jax.lax.scan(one_step, first, jax.random.split(key_steps, count))
        return rows

    with warnings.catch_warnings():
        # gymnax's Discrete.sample asks for int64, which JAX (without x64) serves as int32.
        warnings.filterwarnings("ignore", message="Explicitly requested dtype")
        rows = rollout(jax.random.PRNGKey(seed))
    obs, action, next_obs, terminated, truncated, reward = jax.device_get(rows)
    return Transitions(
        obs=np.asarray(obs, dtype=np.float32).reshape(count, -1),
        action=np.asarray(action),
        next_obs=np.asarray(next_obs, dtype=np.float32).reshape(count, -1),
        terminated=np.asarray(terminated, dtype=bool),
        truncated=np.asarray(truncated, dtype=bool),
        env_reward=np.asarray(reward, dtype=np.float32),
    )


def trace_check(reward_fn: RewardFn, info: SpaceInfo, transitions: Transitions) -> list[str]:
    """Problems that keep `reward_fn` out of a jitted population, as sentences for a repair
    prompt. Empty when the reward traces, has the interface's shapes and runs on real data.

    Checks, in order: abstract tracing (`jax.eval_shape`: Python control flow on arrays,
    undefined names, wrong indexing), the output structure and shapes, then one jitted call
    on `transitions` with JAX's index checks (JAX silently clamps out-of-range indices
    otherwise), finite outputs, and that a transition's reward does not depend on the other
    transitions of the batch (the population trainer evaluates one transition at a time).
    """
    args = reward_args(transitions, info)
    count = len(transitions)
    try:
        out_shape = jax.eval_shape(reward_fn, *args)
    except Exception as exc:  # the reward is arbitrary generated code: any error is a finding
        return [describe_trace_error(exc, reward_fn)]

    problems = structure_problems(out_shape, count)
    if problems:
        return problems

    from jax.experimental import checkify

    checked = jax.jit(checkify.checkify(reward_fn, errors=checkify.index_checks))
    try:
        error, (total, components) = checked(*args)
        index_error = error.get()
    except Exception as exc:
        return [describe_trace_error(exc, reward_fn)]
    if index_error:
        problems.append(
            "compute_reward indexes outside an array (JAX would silently clamp it): "
            f"{index_error.strip().rstrip('.')}. The observation has {info.obs_dim} columns, "
            f"obs[:, 0] to obs[:, {info.obs_dim - 1}]."
        )

    outputs = {"the total": np.asarray(total), **{
        f"component {name!r}": np.asarray(value) for name, value in components.items()
    }}
    for label, value in outputs.items():
        bad = int(np.size(value) - np.isfinite(value.astype(np.float64)).sum())
        if bad:
            problems.append(
                f"{label} is NaN or infinite for {bad} of {count} real transitions "
                "(guard divisions, logs and square roots)."
            )
    if problems:
        return problems

    one_at_a_time = jax.jit(jax.vmap(
        lambda *row: reward_fn(*(jnp.expand_dims(a, 0) for a in row))[0].reshape(())
    ))
    try:
        single = np.asarray(one_at_a_time(*args))
    except Exception as exc:
        return [
            "compute_reward fails on a batch of one transition (N=1), which the trainer "
            f"uses: {describe_trace_error(exc, reward_fn)}"
        ]
    if not np.allclose(single, np.asarray(total), rtol=1e-4, atol=1e-5, equal_nan=True):
        problems.append(
            "the reward of one transition depends on the other transitions in the batch "
            "(e.g. a mean, sum, max or normalisation over axis 0): compute each "
            "transition's reward from its own row only."
        )
    return problems


def reward_args(transitions: Transitions, info: SpaceInfo) -> tuple[jax.Array, ...]:
    action = np.asarray(transitions.action)
    if info.action_kind == "continuous":
        action = action.astype(np.float32).reshape(len(transitions), info.action_dim)
    else:
        action = action.astype(np.int32).reshape(len(transitions))
    return (
        jnp.asarray(transitions.obs, jnp.float32),
        jnp.asarray(action),
        jnp.asarray(transitions.next_obs, jnp.float32),
        jnp.asarray(transitions.terminated, bool),
    )


def structure_problems(out_shape: Any, count: int) -> list[str]:
    if not (isinstance(out_shape, (tuple, list)) and len(out_shape) == 2):
        return [
            "compute_reward must return a pair (total, components), where total has shape "
            f"(N,) and components is a dict of name -> array of shape (N,); it returned "
            f"{_shape_text(out_shape)}."
        ]
    total, components = out_shape
    problems = []
    if not _is_array(total) or tuple(total.shape) != (count,):
        problems.append(
            f"the total reward must have shape (N,) = ({count},), one value per "
            f"transition; it has {_shape_text(total)}. Do not sum or average over the "
            "batch, and do not return a Python constant; compare with obs[:, 0] for shape."
        )
    elif not _is_numeric(total):
        problems.append(f"the total reward must be numeric; its dtype is {total.dtype}.")
    if not isinstance(components, dict):
        problems.append(
            "the second return value must be a dict of name -> array of shape (N,); it is "
            f"{_shape_text(components)}."
        )
        return problems
    for name, value in components.items():
        if not isinstance(name, str):
            problems.append(f"component names must be strings; {name!r} is not.")
        elif not _is_array(value) or tuple(value.shape) != (count,):
            problems.append(
                f"component {name!r} must have shape (N,) = ({count},); it has "
                f"{_shape_text(value)}."
            )
        elif not _is_numeric(value):
            problems.append(f"component {name!r} must be numeric; its dtype is {value.dtype}.")
    return problems


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _is_numeric(value: Any) -> bool:
    return bool(jnp.issubdtype(value.dtype, jnp.number) or value.dtype == jnp.bool_)


def _shape_text(value: Any) -> str:
    if _is_array(value):
        return f"shape {tuple(value.shape)}"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def describe_trace_error(exc: Exception, reward_fn: Any = None) -> str:
    """One sentence on why tracing failed, with the reward's own line where it is known."""
    return _explain(exc) + _where(exc, reward_fn)


def _where(exc: Exception, reward_fn: Any) -> str:
    code = getattr(reward_fn, "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == code.co_filename]
    return f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""


def _explain(exc: Exception) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    python_truth_of_array = isinstance(exc, jax.errors.TracerBoolConversionError) or (
        isinstance(exc, ValueError) and "truth value of an array" in str(exc)
    )
    if python_truth_of_array:
        return (
            "compute_reward uses a Python `if`, `and`, `or`, `not` or `bool()` on an array "
            f"({name}). Arrays are traced by JAX: use jnp.where(cond, a, b) for choices and "
            "&, |, ~ for boolean arrays."
        )
    if isinstance(exc, jax.errors.ConcretizationTypeError):
        return (
            f"compute_reward needs a concrete value from a traced array ({name}: {first}). "
            "Use jnp.where instead of Python control flow, and do not convert arrays to "
            "Python numbers (float(), int(), .item())."
        )
    if isinstance(exc, (jax.errors.TracerIntegerConversionError,
                        jax.errors.TracerArrayConversionError)):
        return (
            f"compute_reward converts a traced array to a Python or NumPy value ({name}). "
            "Keep everything in jnp operations."
        )
    if isinstance(exc, TypeError) and "immutable" in str(exc):
        return (
            "compute_reward assigns into a JAX array in place; JAX arrays are immutable: "
            "use x = x.at[idx].set(value) or build the array with jnp.where."
        )
    return f"compute_reward raised {name}: {first}"
