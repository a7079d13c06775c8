"""Named state: quantities the task author exposes to the designer without writing the reward.

A task file may name quantities of the state (``context.state``), each an array expression over
``obs`` under the allowlist of a spec's custom quantity (eureka.design.custom_expression)::

    context:
      state:
        on_goal: "np.sum(obs[:, 0:50:2] * obs[:, 1:50:2], axis=1)"
        keys_held: {expression: "obs[:, 80]", meaning: "keys the agent carries", range: [0, 3]}

In structured mode each becomes a quantity of that name, first in the table, that terms use like
any other; in code mode the prompt lists them as expressions the model may copy. They say what
the state is, never what is good: a named state that recites the env's reward breaks the
fairness rules (tasks/README.md).

Example:
    >>> from eureka.task import StateField
    >>> [q] = state_quantities({"gap": StateField(expression="obs[:, 1] - obs[:, 0]")}, 2)
    >>> q.name, q.expression("next_obs", "jnp")
    ('gap', '(next_obs[:, 1] - next_obs[:, 0])')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from eureka.design import custom_expression
from eureka.design.quantities import Quantity

if TYPE_CHECKING:
    from eureka.task import StateField

STATE = "state"  # the array a named state's expression reads when it is evaluated here


def state_quantities(state: Mapping[str, "StateField"], obs_dim: int) -> list[Quantity]:
    """One quantity per entry whose expression passes the allowlist and reads obs only (the task
    check refuses the others before a run)."""
    found: list[Quantity] = []
    for name, field in state.items():
        parsed = custom_expression.parse(field.expression, obs_dim)
        if parsed.text is None or parsed.per_transition:
            continue
        low, high = field.range if field.range is not None else (None, None)
        meaning = f"{field.meaning} (= {parsed.text})" if field.meaning else f"named by the task: {parsed.text}"
        found.append(Quantity(name, meaning, "custom", (), low, high, formula=parsed.text))
    return found


def evaluate(formula: str, obs: Any, module: Any, prefix: str = "np") -> Any:
    """A checked expression over the state `obs`, with `module` (numpy or jax.numpy) as `prefix`."""
    text = custom_expression.render(formula, prefix, STATE)
    return eval(text, {"__builtins__": {}, prefix: module, STATE: obs})  # noqa: S307 - allowlisted


def state_problems(state: Mapping[str, "StateField"], obs: np.ndarray, jax: bool = False,
                   finite: bool = True) -> dict[str, str]:
    """What is wrong with each entry, by name: the allowlist, reading more than obs, or on the
    sample states `obs` not one number per row (`finite`: also nan or inf; `jax`: also with
    jax.numpy inside jax.jit, as the population trainer runs it)."""
    problems: dict[str, str] = {}
    for name, field in state.items():
        parsed = custom_expression.parse(field.expression, obs.shape[1])
        if parsed.text is None:
            problems[name] = "; ".join(p.replace("the custom expression", "the expression") for p in parsed.problems)
            continue
        if parsed.per_transition:
            problems[name] = "a named state reads obs only (the state), not next_obs or action"
            continue
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(evaluate(parsed.text, obs.astype(np.float64), np), dtype=np.float64)
            if jax:
                import jax as jax_module
                import jax.numpy as jnp

                traced = np.asarray(jax_module.jit(lambda o, text=parsed.text: evaluate(text, o, jnp, "jnp"))(obs))
                if traced.shape != value.shape:
                    value = traced
        except Exception as exc:  # noqa: BLE001 - numpy's and jax's errors on a bad expression
            problems[name] = f"fails on sample states: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            continue
        if value.shape != (obs.shape[0],):
            problems[name] = (f"gives shape {value.shape} on {obs.shape[0]} states; it must give one number per "
                              f"row, shape ({obs.shape[0]},) (reduce over columns with axis=1)")
        elif finite and not np.all(np.isfinite(value)):
            problems[name] = "is not finite on every sample state (nan or inf)"
    return problems
