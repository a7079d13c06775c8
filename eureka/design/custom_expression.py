"""A custom quantity: one short array expression the model writes over obs, next_obs and action.

The expression is parsed, never executed as Python as written: an AST allowlist admits only
numbers, the three arrays, subscripts with integer indices and slices, arithmetic and
comparisons, and calls to a fixed list of array functions written ``np.<name>`` (or
``jnp.<name>``; ``np.linalg.norm``), with no keyword but ``axis``. No other name, attribute or
call, no string, no dunder. The rendered text (with the backend's module prefix) goes into the
compiled reward module, which the critic then checks in its sandbox like any candidate.

An expression that reads only ``obs`` is a quantity of the state (evaluated on the state after
the step, and the one before for progress); one that reads ``next_obs`` or ``action`` is a
quantity of the transition.

Example:
    >>> parse("np.sqrt(np.square(obs[:, 0] - obs[:, 2]) + np.square(obs[:, 1] - obs[:, 3]))", 4).problems
    []
    >>> parse("obs.__class__", 4).problems
    ['the custom expression may not use attribute "__class__" (only np.<function>)']
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

MAX_LENGTH = 240
MAX_CONSTANT = 1e6
MAX_POWER = 4
ARRAYS = ("obs", "next_obs", "action")
MODULES = ("np", "jnp")
FUNCTIONS = frozenset({
    "abs", "sqrt", "square", "sum", "mean", "min", "max", "maximum", "minimum", "clip", "where", "arctan2",
    "sin", "cos", "tan", "tanh", "exp", "log", "sign", "hypot", "linalg.norm",
})
OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
             ast.BitAnd, ast.BitOr, ast.Invert)


@dataclass(frozen=True)
class Parsed:
    """The expression normalised to ``np.`` calls (None if refused), what it reads, the problems."""

    text: str | None
    reads: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)

    @property
    def per_transition(self) -> bool:
        return bool(self.reads - {"obs"})


class _Checker(ast.NodeVisitor):
    def __init__(self, obs_dim: int) -> None:
        self.obs_dim = obs_dim
        self.problems: list[str] = []
        self.reads: set[str] = set()

    def refuse(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def generic_visit(self, node: ast.AST) -> None:
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Subscript, ast.Slice, ast.Tuple,
                   ast.Load, ast.Constant, ast.Name, ast.Call, ast.Attribute, ast.keyword, *OPERATORS)
        if not isinstance(node, allowed):
            self.refuse(f"the custom expression may not contain {type(node).__name__.lower()} "
                        "(only arithmetic, comparisons, subscripts and np.<function> calls)")
            return
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if node.value is Ellipsis:
            return
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)) or abs(node.value) > MAX_CONSTANT:
            self.refuse(f"the custom expression may use only numbers up to {MAX_CONSTANT:g}; got {node.value!r}")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ARRAYS:
            self.reads.add(node.id)
            return
        self.refuse(f"unknown name \"{node.id}\" in the custom expression (use obs, next_obs, action and np.<function>)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.refuse(f"the custom expression may not use attribute \"{node.attr}\" (only np.<function>)")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow) and not (isinstance(node.right, ast.Constant)
                                                 and isinstance(node.right.value, (int, float))
                                                 and abs(node.right.value) <= MAX_POWER):
            self.refuse(f"a power in the custom expression needs a number up to {MAX_POWER} as exponent")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _function_name(node.func)
        if name not in FUNCTIONS:
            shown = name or ast.unparse(node.func)
            self.refuse(f"the custom expression may not call {shown}; use np.<name> with a name from "
                        f"{', '.join(sorted(FUNCTIONS))}")
            return
        for keyword in node.keywords:
            if keyword.arg != "axis" or not (isinstance(keyword.value, (ast.Constant, ast.UnaryOp))):
                self.refuse("the only keyword a custom expression may pass is axis=<integer>")
        for argument in node.args:
            self.visit(argument)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        for part in parts:
            bounds = [part.lower, part.upper, part.step] if isinstance(part, ast.Slice) else [part]
            for bound in bounds:
                if bound is None or (isinstance(bound, ast.Constant) and bound.value is Ellipsis):
                    continue
                value = _integer(bound)
                if value is None:
                    self.refuse("a subscript in the custom expression takes integers, slices and ':' only")
                elif isinstance(node.value, ast.Name) and node.value.id != "action" and part is parts[-1] \
                        and not -self.obs_dim <= value < max(self.obs_dim, 1) + (isinstance(part, ast.Slice)):
                    self.refuse(f"column {value} is outside the observation (it has {self.obs_dim} columns)")


def _integer(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _function_name(node: ast.expr) -> str | None:
    """"sqrt" for np.sqrt / jnp.sqrt, "linalg.norm" for np.linalg.norm; None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in MODULES or not parts:
        return None
    name = ".".join(reversed(parts))
    return name if not name.startswith("_") and "__" not in name else None


class _Prefix(ast.NodeTransformer):
    """Module prefix to `module`, and `obs` to `state` (for a state quantity)."""

    def __init__(self, module: str, state: str | None) -> None:
        self.module, self.state = module, state

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in MODULES:
            return ast.copy_location(ast.Name(self.module, ast.Load()), node)
        if node.id == "obs" and self.state is not None:
            return ast.copy_location(ast.Name(self.state, ast.Load()), node)
        return node


def parse(text: str, obs_dim: int) -> Parsed:
    """The checked expression, or the problems with it as sentences (for a repair prompt)."""
    text = (text or "").strip()
    if not text:
        return Parsed(None, problems=["the custom expression is empty"])
    if len(text) > MAX_LENGTH:
        return Parsed(None, problems=[f"the custom expression is longer than {MAX_LENGTH} characters"])
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        return Parsed(None, problems=[f"the custom expression is not a valid expression: {exc.msg}"])
    checker = _Checker(obs_dim)
    checker.visit(tree)
    if not checker.reads and not checker.problems:
        checker.refuse("the custom expression reads none of obs, next_obs, action")
    if checker.problems:
        return Parsed(None, frozenset(checker.reads), checker.problems)
    return Parsed(ast.unparse(_Prefix("np", None).visit(tree)), frozenset(checker.reads))


def render(formula: str, xp: str, state: str) -> str:
    """The checked `formula` with the backend's module prefix; `obs` reads `state` for a state
    quantity (one that reads only obs)."""
    tree = ast.parse(formula, mode="eval")
    reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in ARRAYS}
    rename = state if reads == {"obs"} else None
    return f"({ast.unparse(_Prefix(xp, rename).visit(tree))})"


def probe(parsed: Parsed, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray) -> list[str]:
    """Problems of a checked expression on real transitions: one finite number per environment
    that varies. (The compiled reward is then checked again by the critic, in its sandbox.)"""
    assert parsed.text is not None
    namespace = {"__builtins__": {}, "np": np, "obs": obs, "next_obs": next_obs, "action": action}
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(eval(compile(ast.parse(parsed.text, mode="eval"), "<custom>", "eval"), namespace),  # noqa: S307
                               dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure is the model's to repair
        return [f"the custom expression fails on real transitions: {type(exc).__name__}: {exc}"[:300]]
    if value.shape != (obs.shape[0],):
        return [f"the custom expression must give one number per environment, shape ({obs.shape[0]},); "
                f"got shape {value.shape} (reduce over columns with axis=1)"]
    if not np.all(np.isfinite(value)):
        return ["the custom expression is not finite on every real transition (nan or inf)"]
    if float(np.ptp(value)) == 0.0:
        return ["the custom expression has the same value on every real transition: it cannot guide learning"]
    return []
