"""Success expressions: evaluated from an allowlist, with numpy and inside jitted jax code."""

from __future__ import annotations

import numpy as np
import pytest

from eureka.safe_expr import UnsafeExpression, compile_expression
from eureka.training.base import FitnessSpec
from eureka.training.fitness import success_flags

RNG = np.random.default_rng(0)
OBS = RNG.normal(size=(16, 4)).astype(np.float32)
NEXT = RNG.normal(size=(16, 4)).astype(np.float32)
TERMINATED = RNG.random(16) < 0.5
TRUNCATED = ~TERMINATED
REWARD = RNG.normal(size=16).astype(np.float32)
SCOPE = {"obs": OBS, "next_obs": NEXT, "terminated": TERMINATED, "truncated": TRUNCATED, "env_reward": REWARD}

ALLOWED = {
    "next_obs[:, 0] >= 0.45": NEXT[:, 0] >= 0.45,
    "terminated & (np.abs(obs[:, 2]) < 0.5)": TERMINATED & (np.abs(OBS[:, 2]) < 0.5),
    "terminated and not truncated": TERMINATED & ~TRUNCATED,
    "~truncated | (env_reward > 0)": ~TRUNCATED | (REWARD > 0),
    "-0.5 < obs[:, 0] <= 0.5": (OBS[:, 0] > -0.5) & (OBS[:, 0] <= 0.5),
    "jnp.linalg.norm(next_obs[:, :2], axis=1) < 1.0": np.linalg.norm(NEXT[:, :2], axis=1) < 1.0,
    "where(terminated, env_reward > 0, obs[:, 1] > 0)": np.where(TERMINATED, REWARD > 0, OBS[:, 1] > 0),
    "sqrt(obs[:, 0] ** 2 + obs[:, 1] ** 2) < pi / 2": np.sqrt(OBS[:, 0] ** 2 + OBS[:, 1] ** 2) < np.pi / 2,
    "np.all(np.abs(next_obs) < 2, axis=1)": np.all(np.abs(NEXT) < 2, axis=1),
    "any(next_obs > 1.5, axis=1)": np.any(NEXT > 1.5, axis=1),
    "maximum(obs[:, 0], next_obs[:, 0]) > np.min(obs[:, 1])": np.maximum(OBS[:, 0], NEXT[:, 0]) > np.min(OBS[:, 1]),
    "(next_obs[:, 0] - obs[:, 0]) % 1 > 0.5 if True else False": (NEXT[:, 0] - OBS[:, 0]) % 1 > 0.5,
    "terminated": TERMINATED,
}

REFUSED = {
    "().__class__.__base__.__subclasses__()": "calling",
    "obs.__class__": "attribute access",
    "obs.tofile('x') is None": "calling obs.tofile",
    "__import__('os').system('true')": "calling __import__",
    "np.os.system('true')": "calling np.os.system",
    "open('/etc/passwd')": "calling open",
    "eval('1')": "calling eval",
    "lambda: 1": "a lambda",
    "[x for x in obs]": "a comprehension",
    "'a' * 10": "the constant 'a'",
    "9 ** 9 ** 9": "constant exponent",
    "obs[:, 0] ** obs[:, 1]": "constant exponent",
    "1 << 100000": "the operator LShift",
    "obs[None]": "the constant None",
    "terminated in truncated": "the comparison In",
    "(x := 1)": "an assignment",
    "obs[:, 0] >": "syntax error",
    "max(obs[:, 0], 1)": "calling max",
    "np.abs(obs, out=obs)": "the keyword out=",
    "np.abs(*obs)": "*arguments",
    "x" * 2000: "longer than 1000 characters",
}


@pytest.mark.parametrize("expression", list(ALLOWED))
def test_allowed_expressions_evaluate_like_numpy(expression: str) -> None:
    result = compile_expression(expression)(SCOPE, np)
    np.testing.assert_array_equal(np.asarray(result, dtype=bool), ALLOWED[expression])


@pytest.mark.parametrize("expression", list(REFUSED))
def test_everything_else_is_refused_with_the_reason(expression: str) -> None:
    with pytest.raises(UnsafeExpression, match=REFUSED[expression].replace("(", r"\(").replace("*", r"\*")):
        compile_expression(expression)


@pytest.mark.parametrize("expression", ["obs[:, 0:1] * env_reward > 0", "obs[(obs > 0) * 1][:, 0] > 0"])
def test_arrays_larger_than_the_inputs_are_refused_before_they_are_built(expression: str) -> None:
    with pytest.raises(UnsafeExpression, match="larger than its inputs|integer array"):
        compile_expression(expression)(SCOPE, np)


def test_python_integers_cannot_grow_without_bound() -> None:
    with pytest.raises(OverflowError):
        compile_expression("((9 ** 64) ** 64) ** 64 > 0")(SCOPE, np)


def test_the_same_expression_runs_with_jax_numpy_inside_jit() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    for expression, expected in ALLOWED.items():
        spec = FitnessSpec(metric="success_rate", success=expression)
        flags = jax.jit(lambda *a: success_flags(spec, *a, xp=jnp))(OBS, NEXT, TERMINATED, TRUNCATED, REWARD)
        np.testing.assert_array_equal(np.asarray(flags), expected, err_msg=expression)


def test_the_jax_trainers_success_function_uses_it() -> None:
    pytest.importorskip("rejax")
    import jax

    from eureka.training.jax_population import make_success_fn

    success = make_success_fn(FitnessSpec(metric="success_rate", success="next_obs[:, 0] >= 0.45"))
    flags = jax.jit(success)(OBS, NEXT, TERMINATED, TRUNCATED, REWARD)
    np.testing.assert_array_equal(np.asarray(flags), NEXT[:, 0] >= 0.45)
