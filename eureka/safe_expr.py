"""Array expressions from task files (`fitness.success`), evaluated without running them as Python.

An expression is parsed once into an AST, every node checked against an allowlist, and compiled
into a tree of closures that only call numpy / jax.numpy functions on the arrays given. It never
reaches `eval`, attributes, builtins or the interpreter, so a task file cannot run code on the
host. The same compiled expression runs on numpy arrays and inside jitted jax code (`xp`).

Allowed: the array names (obs, next_obs, terminated, truncated, env_reward), numbers, True/False,
pi/e/inf (also as np.pi, ...), + - * / // % ** (a constant exponent), & | ^ ~, comparisons
(chains too), and/or/not (elementwise), `a if cond else b` (elementwise), indexing and slicing,
and calls of a few array functions, bare or as np./jnp./xp. (`np.linalg.norm(obs[:, :2], axis=1)`).
Simple evaluators such as simpleeval allow attribute access on values (`obs.tofile(...)`); an
allowlist of node types and names does not.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Any, Callable

import numpy as np

ARRAY_NAMES = ("obs", "next_obs", "terminated", "truncated", "env_reward")
MODULE_NAMES = frozenset({"np", "jnp", "xp", "numpy"})
CONSTANTS = frozenset({"pi", "e", "inf"})
FUNCTIONS = frozenset({
    "abs", "sqrt", "square", "minimum", "maximum", "clip", "where", "any", "all", "sum", "mean", "min",
    "max", "cos", "sin", "tan", "arccos", "arcsin", "arctan", "arctan2", "exp", "log", "sign", "floor",
    "ceil", "isclose", "isfinite", "logical_and", "logical_or", "logical_not", "logical_xor", "hypot",
})
SUBMODULE_FUNCTIONS = frozenset({("linalg", "norm")})
BARE_ONLY_ON_MODULE = frozenset({"min", "max"})  # bare max(a, b) reads as maximum, np.max(a, b) is not
KEYWORDS = frozenset({"axis", "keepdims", "ord"})
MAX_LENGTH = 1000
MAX_NODES = 300
MAX_EXPONENT = 64
LIMIT_KEY = "\0size_limit"  # in the scope while evaluating: no intermediate array may be larger

Evaluator = Callable[[dict[str, Any], Any], Any]
BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


class UnsafeExpression(ValueError):
    """The expression uses something outside the allowlist, or does not parse. The message says what."""


@dataclass(frozen=True)
class ArrayExpression:
    source: str
    names: frozenset[str]  # the array names it reads
    _evaluate: Evaluator

    def __call__(self, scope: dict[str, Any], xp: Any) -> Any:
        """Evaluate on the arrays of `scope` with array module `xp` (numpy or jax.numpy)."""
        missing = self.names - scope.keys()
        if missing:
            raise UnsafeExpression(f"no value for {', '.join(sorted(missing))}")
        limit = max((int(np.size(value)) for value in scope.values()), default=1)
        return self._evaluate({**scope, LIMIT_KEY: max(limit, 1)}, xp)


@lru_cache(maxsize=64)
def compile_expression(source: str) -> ArrayExpression:
    """Parse and check `source`; raise UnsafeExpression with the reason if it is not allowed."""
    if len(source) > MAX_LENGTH:
        raise UnsafeExpression(f"longer than {MAX_LENGTH} characters ({len(source)})")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"syntax error at column {exc.offset or 0}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise UnsafeExpression(f"cannot be parsed ({type(exc).__name__})") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise UnsafeExpression(f"too complex ({count} syntax nodes, at most {MAX_NODES})")
    compiler = _Compiler()
    try:
        evaluate = compiler.compile(tree.body)
    except RecursionError:
        raise UnsafeExpression("nested too deeply") from None
    return ArrayExpression(source, frozenset(compiler.names), evaluate)


class _Compiler:
    def __init__(self) -> None:
        self.names: set[str] = set()

    def compile(self, node: ast.AST) -> Evaluator:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise UnsafeExpression(f"{_describe(node)} is not allowed")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if isinstance(value, bool) or isinstance(value, (int, float)):
            return lambda scope, xp: value
        raise UnsafeExpression(f"the constant {value!r} is not allowed (numbers and True/False only)")

    def _Name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name in ARRAY_NAMES:
            self.names.add(name)
            return lambda scope, xp: scope[name]
        if name in CONSTANTS:
            return lambda scope, xp: getattr(xp, name)
        raise UnsafeExpression(f"unknown name {name!r}: use {', '.join(ARRAY_NAMES)}, numbers, "
                               f"{', '.join(sorted(CONSTANTS))} and the allowed functions")

    def _Attribute(self, node: ast.Attribute) -> Evaluator:
        if isinstance(node.value, ast.Name) and node.value.id in MODULE_NAMES and node.attr in CONSTANTS:
            attr = node.attr
            return lambda scope, xp: getattr(xp, attr)
        raise UnsafeExpression(f"attribute access ({_dotted(node)}) is not allowed, except "
                               "np.pi, np.e, np.inf and calls of the allowed functions")

    def _UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda scope, xp: -operand(scope, xp)
        if isinstance(node.op, ast.UAdd):
            return operand
        # `not x` and `~x` both mean elementwise negation of a condition
        return lambda scope, xp: xp.logical_not(operand(scope, xp))

    def _BinOp(self, node: ast.BinOp) -> Evaluator:
        left = self.compile(node.left)
        if isinstance(node.op, ast.Pow):
            exponent = _constant_number(node.right)
            if exponent is None or abs(exponent) > MAX_EXPONENT:
                raise UnsafeExpression(f"** needs a constant exponent of at most {MAX_EXPONENT} in size")
            return lambda scope, xp: _power(left(scope, xp), exponent)
        function = BINARY.get(type(node.op))
        if function is None:
            raise UnsafeExpression(f"the operator {type(node.op).__name__} is not allowed")
        right = self.compile(node.right)
        return lambda scope, xp: function(*_bounded(scope, left(scope, xp), right(scope, xp)))

    def _BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(value) for value in node.values]
        name = "logical_and" if isinstance(node.op, ast.And) else "logical_or"
        return lambda scope, xp: reduce(getattr(xp, name), _bounded(scope, *(part(scope, xp) for part in parts)))

    def _Compare(self, node: ast.Compare) -> Evaluator:
        operands = [self.compile(node.left), *(self.compile(c) for c in node.comparators)]
        functions = []
        for op in node.ops:
            function = COMPARE.get(type(op))
            if function is None:
                raise UnsafeExpression(f"the comparison {type(op).__name__} is not allowed")
            functions.append(function)

        def compare(scope: dict[str, Any], xp: Any) -> Any:
            values = _bounded(scope, *(operand(scope, xp) for operand in operands))
            pairs = [f(a, b) for f, a, b in zip(functions, values, values[1:])]
            return reduce(xp.logical_and, pairs)  # a < b < c, elementwise
        return compare

    def _IfExp(self, node: ast.IfExp) -> Evaluator:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda scope, xp: xp.where(*_bounded(scope, test(scope, xp), body(scope, xp), orelse(scope, xp)))

    def _Subscript(self, node: ast.Subscript) -> Evaluator:
        value = self.compile(node.value)
        index = self._index(node.slice)
        return lambda scope, xp: value(scope, xp)[_no_integer_arrays(index(scope, xp))]

    def _index(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Slice):
            parts = [self.compile(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
            return lambda scope, xp: slice(*(p(scope, xp) if p is not None else None for p in parts))
        if isinstance(node, ast.Tuple):
            items = [self._index(item) for item in node.elts]
            return lambda scope, xp: tuple(item(scope, xp) for item in items)
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return lambda scope, xp: Ellipsis
        return self.compile(node)

    def _Call(self, node: ast.Call) -> Evaluator:
        path = _function_path(node.func)
        if path is None:
            raise UnsafeExpression(f"calling {_dotted(node.func)}(...) is not allowed: only "
                                   f"{', '.join(sorted(FUNCTIONS - BARE_ONLY_ON_MODULE))}, np.min, np.max "
                                   "and np.linalg.norm (bare or as np./jnp./xp.)")
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise UnsafeExpression("*arguments are not allowed")
            args.append(self.compile(arg))
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg not in KEYWORDS:
                raise UnsafeExpression(f"the keyword {keyword.arg or '**'}= is not allowed "
                                       f"(only {', '.join(sorted(KEYWORDS))})")
            keywords[keyword.arg] = self._index(keyword.value)

        def call(scope: dict[str, Any], xp: Any) -> Any:
            function = reduce(getattr, path, xp)
            values = _bounded(scope, *(a(scope, xp) for a in args))
            return function(*values, **{k: v(scope, xp) for k, v in keywords.items()})
        return call


def _function_path(func: ast.AST) -> tuple[str, ...] | None:
    """The allowed function a call names, as attribute path on the array module, else None."""
    if isinstance(func, ast.Name):
        return (func.id,) if func.id in FUNCTIONS and func.id not in BARE_ONLY_ON_MODULE else None
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in MODULE_NAMES:
        return None
    if len(parts) == 1 and parts[0] in FUNCTIONS:
        return (parts[0],)
    if len(parts) == 2 and tuple(parts) in SUBMODULE_FUNCTIONS:
        return tuple(parts)
    return None


def _constant_number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant_number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def _bounded(scope: dict[str, Any], *values: Any) -> tuple[Any, ...]:
    """`values`, once sure that broadcasting them together builds no array larger than the
    largest input (checked on shapes, before anything is allocated; jax shapes are static)."""
    if len(values) > 1:
        try:
            shape = np.broadcast_shapes(*(np.shape(v) for v in values))
        except ValueError:
            return values  # the operation itself reports the mismatch
        size = int(np.prod(shape, dtype=np.float64))
        if size > scope[LIMIT_KEY]:
            raise UnsafeExpression(f"the expression builds an array of shape {tuple(shape)}, larger than "
                                   "its inputs (broadcasting one axis against another)")
    return values


def _no_integer_arrays(index: Any) -> Any:
    """Slices, integers and boolean masks only: indexing with an integer array can build an
    array larger than its input."""
    for part in index if isinstance(index, tuple) else (index,):
        dtype = getattr(part, "dtype", None)
        if dtype is not None and dtype.kind in "iu" and np.ndim(part) > 0:
            raise UnsafeExpression("indexing with an integer array is not allowed (use slices, "
                                   "integers or boolean masks)")
    return index


def _power(base: Any, exponent: float) -> Any:
    if isinstance(base, int):  # Python ints grow without bound: 9 ** 64 ** ... would never end
        base = float(base)
    return base ** exponent


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:80]
    except Exception:  # unparse of odd nodes; the message only needs a hint
        return type(node).__name__


def _describe(node: ast.AST) -> str:
    kinds = {"Lambda": "a lambda", "ListComp": "a comprehension", "GeneratorExp": "a generator",
             "DictComp": "a comprehension", "SetComp": "a comprehension", "NamedExpr": "an assignment (:=)",
             "Await": "await", "Yield": "yield", "JoinedStr": "an f-string", "List": "a list",
             "Dict": "a dict", "Set": "a set", "Tuple": "a tuple outside an index", "Starred": "*unpacking"}
    name = type(node).__name__
    return f"{kinds.get(name, name)} ({_dotted(node)})"
