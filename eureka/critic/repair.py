"""Deterministic auto-repair of the slips small models make in free-form reward code.

Only fixes for failures measured with small models (FACTS.md; bench/free_form_repairs.py), each
recorded as a sentence in the critic's verdict; none changes what the reward means. Everything
else goes back to the LLM as a repair prompt.

Before the probe (`repair_source`):
- import slips (`import jnp`) and missing imports of np / jnp / math;
- a tail cut off by the token limit;
- math-module functions on arrays (`math.sqrt(d)`, `from math import sqrt`) and numpy functions
  used bare and never defined (`sqrt(d)`): the array module's function, elementwise;
- `and` / `or` between comparisons (`a < 1 and b < 2`): elementwise `&` / `|`;
- module-level statements that use the reward's arguments or its local variables (lines written
  outside `compute_reward`, before or after it): moved into the function.
After a probe whose output has the wrong shape (`Critic.check_reply`), the first of these kept
after which the reward runs with the right shapes (but a scalar or (N, 1) output):
- reductions with no axis (`np.linalg.norm(a - b)`, `np.mean(np.abs(err))`, `x.sum()`): one value
  per transition (over all axes but the batch's) instead of one for the whole batch;
- a one-column continuous action used as (N,) (`push = action`, (N,) + (N, 1) -> (N, N)):
  `action[:, 0]`;
- a scalar or (N, 1) output: broadcast or squeezed to (N,) (`shape_wrapper`).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

import numpy as np

from eureka.envs.base import SpaceInfo
from eureka.reward import REWARD_FUNCTION

IMPORT_SLIPS = {
    "import jnp": "import jax.numpy as jnp",
    "import jax.numpy": "import jax.numpy as jnp",
    "import np": "import numpy as np",
    "from jax import numpy as jnp": "import jax.numpy as jnp",
}
MODULE_ALIASES = {"np": "import numpy as np", "jnp": "import jax.numpy as jnp", "math": "import math"}
# math functions (one number in, one out) and the array function that does the same elementwise,
# with the number of positional arguments where the two agree
MATH_FUNCTIONS: dict[str, tuple[str, int]] = {
    **{name: (name, 1) for name in ("sqrt", "exp", "log", "log10", "log2", "log1p", "expm1", "cos", "sin", "tan",
                                    "tanh", "sinh", "cosh", "floor", "ceil", "trunc", "degrees", "radians",
                                    "isnan", "isinf", "isfinite")},
    "atan": ("arctan", 1), "asin": ("arcsin", 1), "acos": ("arccos", 1), "fabs": ("abs", 1),
    "atan2": ("arctan2", 2), "pow": ("power", 2), "hypot": ("hypot", 2), "copysign": ("copysign", 2),
    "fmod": ("fmod", 2),
}
REDUCTIONS = ("sum", "mean", "max", "min", "prod", "std", "var", "amax", "amin", "median")
SHAPE_WORDS = ("shape", "broadcast", "other transitions in the batch")


@dataclass(frozen=True)
class _Edit:
    """Replace the text from (line, col) to (end_line, end_col) (1-based lines, 0-based columns)."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


def _apply(code: str, edits: list[_Edit]) -> str:
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = code
    for edit in sorted(edits, key=lambda e: (e.line, e.col), reverse=True):
        start = offsets[edit.line - 1] + len(lines[edit.line - 1].encode()[:edit.col].decode(errors="ignore"))
        end = offsets[edit.end_line - 1] + len(lines[edit.end_line - 1].encode()[:edit.end_col].decode(errors="ignore"))
        out = out[:start] + edit.text + out[end:]
    return out


def _span(node: ast.AST, text: str) -> _Edit:
    return _Edit(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)  # type: ignore[attr-defined]


def _array_alias(tree: ast.AST, space: SpaceInfo) -> str:
    """How the code names its array module (`np`, `jnp`, `numpy`, ...); the usual alias if it imports none."""
    module = "jax.numpy" if space.array_module == "jax" else "numpy"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == module:
                    return alias.asname or alias.name
    return "jnp" if space.array_module == "jax" else "np"


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the module binds anywhere: assignments, loop targets, functions, parameters, imports
    (but not the functions it imports from math: those are what `_math_on_arrays` replaces)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            from_math = isinstance(node, ast.ImportFrom) and node.module == "math" and not node.level
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                         if not (from_math and alias.name in MATH_FUNCTIONS))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _array_function(name: str) -> str | None:
    """The array module's function of this name (`norm`: `linalg.norm`), if it has one."""
    if name == "norm":
        return "linalg.norm"
    return name if not name.startswith("_") and callable(getattr(np, name, None)) else None


def _math_on_arrays(code: str, space: SpaceInfo) -> tuple[str, list[str]]:
    """`math.sqrt(x)`, `from math import sqrt; sqrt(x)` and an undefined bare `sqrt(x)`: the math
    module works on one number, the reward gets a batch; the array module's function does the same
    elementwise."""
    tree = ast.parse(code)
    xp = _array_alias(tree, space)
    from_math = {alias.asname or alias.name: alias.name for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == "math" and not node.level
                 for alias in node.names if alias.name in MATH_FUNCTIONS}
    bound = _bound_names(tree) | set(dir(builtins))
    edits: list[_Edit] = []
    rewritten: dict[str, str] = {}
    called_bare: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or node.keywords:
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "math" \
                and func.attr in MATH_FUNCTIONS:
            name, arity = MATH_FUNCTIONS[func.attr]
            if len(node.args) == arity:
                edits.append(_span(func, f"{xp}.{name}"))
                rewritten[f"math.{func.attr}"] = f"{xp}.{name}"
        elif isinstance(func, ast.Name) and func.id not in bound:
            name, arity = MATH_FUNCTIONS.get(from_math.get(func.id, func.id), (func.id, len(node.args)))
            target = _array_function(name)
            if target is not None and arity == len(node.args):
                edits.append(_span(func, f"{xp}.{target}"))
                rewritten[func.id] = f"{xp}.{target}"
                called_bare.add(func.id)
    # a name from `from math import ...` also used other than as a call keeps its import
    call_names = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    other_uses = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                  and id(n) not in call_names}
    if any(name in other_uses for name in called_bare & set(from_math)):
        return code, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "math" and not node.level:
            kept = [a for a in node.names if (a.asname or a.name) not in called_bare]
            if len(kept) != len(node.names):
                names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
                edits.append(_span(node, f"from math import {names}" if kept else "pass"))
    if not edits:
        return code, []
    repaired = _apply(code, edits)
    try:
        ast.parse(repaired)
    except SyntaxError:
        return code, []
    shown = ", ".join(f"`{a}` as `{b}`" for a, b in sorted(rewritten.items()))
    return repaired, [f"rewrote {shown}: math functions take one number, a reward gets a batch of arrays"]


def _elementwise_logic(code: str) -> tuple[str, list[str]]:
    """`a < 1 and b < 2` on arrays raises "truth value of an array is ambiguous": `(a < 1) & (b < 2)`.
    Only between comparisons, and not as the test of an `if`, `while`, conditional expression or
    assert (there an array fails either way, and a number keeps its short circuit)."""
    count = 0
    for _ in range(8):  # innermost first: an `and` of comparisons and of an `or` rewritten before
        tree = ast.parse(code)
        tests = {id(n.test) for n in ast.walk(tree) if isinstance(n, (ast.If, ast.While, ast.IfExp, ast.Assert))}
        edits: list[_Edit] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and id(node) not in tests and all(map(_elementwise, node.values)):
                joiner = " & " if isinstance(node.op, ast.And) else " | "
                parts = [ast.get_source_segment(code, value) for value in node.values]
                if any(part is None for part in parts):
                    return code, []
                edits.append(_span(node, "(" + joiner.join(f"({part})" for part in parts) + ")"))
        if not edits:
            break
        repaired = _apply(code, edits)
        try:
            ast.parse(repaired)
        except SyntaxError:
            break
        code, count = repaired, count + len(edits)
    if not count:
        return code, []
    return code, [f"rewrote {count} `and`/`or` between comparisons as elementwise `&`/`|`"]


def _elementwise(node: ast.AST) -> bool:
    """A comparison, or an elementwise combination of comparisons (no other BoolOp inside)."""
    if isinstance(node, ast.Compare):
        return not any(isinstance(n, ast.BoolOp) for n in ast.walk(node))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr, ast.BitXor)):
        return _elementwise(node.left) and _elementwise(node.right)
    return False


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _binds(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _misplaced_statements(code: str) -> tuple[str, list[str]]:
    """Statements written at module level that need the reward's arguments or its local variables
    (NameError when the module is imported): moved into `compute_reward`, in their order, where
    what they read is bound (before the function's final `return`)."""
    tree = ast.parse(code)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == REWARD_FUNCTION]
    if len(functions) != 1 or not functions[0].body:
        return code, []
    fn = functions[0]
    local = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs} | _binds(fn)
    movable = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr))
               and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    module_bound = {name for n in tree.body if n not in movable and not isinstance(n, definitions)
                    for name in _binds(n)} | set(dir(builtins)) | {
        (a.asname or a.name).split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names} | {n.name for n in tree.body if isinstance(n, definitions)}
    moved: list[ast.stmt] = []
    changed = True
    while changed:  # a statement reading what a moved one binds moves too
        changed = False
        for statement in movable:
            if statement in moved:
                continue
            bound_before = module_bound | {name for s in movable if s not in moved and s.lineno < statement.lineno
                                           for name in _binds(s)}
            if any(name in local and name not in bound_before for name in _reads(statement)):
                moved.append(statement)
                local |= _binds(statement)
                changed = True
    if not moved:
        return code, []
    moved.sort(key=lambda s: s.lineno)
    body = fn.body
    first = 1 if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
    final_return = len(body) - 1 if isinstance(body[-1], ast.Return) else len(body)
    places: list[int] = []
    for statement in moved:
        needs = _reads(statement)
        after = max([i + 1 for i, s in enumerate(body) if _binds(s) & needs] + [first] + places[-1:])
        provides = _binds(statement)
        readers = [i for i, s in enumerate(body) if _reads(s) & provides and not (_binds(s) & provides)]
        if after > min(readers + [final_return]):
            return code, []  # no place in the function where it both has its inputs and comes first
        places.append(after)
    lines = code.splitlines()
    for statement in moved:  # a statement sharing its lines with another is left alone
        if any(other is not statement and other.lineno <= statement.end_lineno and statement.lineno <= other.end_lineno
               for other in tree.body):
            return code, []
    indent = " " * body[0].col_offset
    inserts: dict[int, list[str]] = {}
    for statement, place in zip(moved, places):
        before_line = body[place].lineno if place < len(body) else body[-1].end_lineno + 1
        text = [indent + line for line in lines[statement.lineno - 1:statement.end_lineno]]
        inserts.setdefault(before_line, []).extend(text)
    removed = {line for s in moved for line in range(s.lineno, s.end_lineno + 1)}
    out: list[str] = []
    for number, line in enumerate(lines + [""], start=1):
        out.extend(inserts.get(number, []))
        if number <= len(lines) and number not in removed:
            out.append(line)
    repaired = "\n".join(out).rstrip("\n") + "\n"
    try:
        ast.parse(repaired)
    except SyntaxError:
        return code, []
    names = ", ".join(sorted({name for s in moved for name in _binds(s)})) or "an expression"
    return repaired, [f"moved {len(moved)} module-level statement(s) that use the reward's arguments or "
                      f"variables into `{REWARD_FUNCTION}` ({names})"]


ROWS_HELPER = "_eureka_rows"


def per_transition(code: str, space: SpaceInfo) -> tuple[str, int]:
    """Reductions with no axis (`np.linalg.norm(a - b)`, `np.mean(np.abs(err))`, `x.sum()`) made
    per transition: over every axis of their operand but the first, the batch's (for an (N, k)
    operand that is `axis=-1`; an (N,) operand is its own value per transition). Returns the code
    (with the helper that does it) and how many reductions changed."""
    count = 0
    for _ in range(8):  # innermost first: a reduction inside another one's operand is done before it
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return code, 0
        found = [node for node in ast.walk(tree) if _batch_reduction(node) is not None]
        innermost = [node for node in found if not any(other is not node and other in found
                                                       for other in ast.walk(node))]
        if not innermost:
            break
        edits = []
        for node in innermost:
            operand = _batch_reduction(node)
            source = ast.get_source_segment(code, operand)
            if source is None:
                return code, 0
            if operand is node.func.value:  # x.mean() -> _eureka_rows(x).mean(axis=-1)
                edits.append(_span(node, f"{ROWS_HELPER}({source}).{node.func.attr}(axis=-1)"))
            else:  # np.mean(x) -> np.mean(_eureka_rows(x), axis=-1)
                last = max([*node.args, *node.keywords], key=lambda n: (n.end_lineno, n.end_col_offset))
                edits.append(_Edit(last.end_lineno, last.end_col_offset, last.end_lineno, last.end_col_offset,
                                   ", axis=-1"))
                edits.append(_span(operand, f"{ROWS_HELPER}({source})"))
        code, count = _apply(code, edits), count + len(innermost)
    if not count:
        return code, 0
    module = "jax.numpy" if space.array_module == "jax" else "numpy"
    helper = f"""

# eureka auto-repair: a reduction over the whole batch made per transition (all axes but the first)
import {module} as _eureka_xp


def {ROWS_HELPER}(value):
    value = _eureka_xp.asarray(value)
    return value.reshape(value.shape[0], -1)
"""
    repaired = code.rstrip("\n") + "\n" + helper
    try:
        ast.parse(repaired)
    except SyntaxError:
        return code, 0
    return repaired, count


def _batch_reduction(node: ast.AST) -> ast.expr | None:
    """The operand of a reduction with no axis (`np.sum(x)`, `np.linalg.norm(x, 2)`, `x.mean()`), if
    `node` is one and not one already made per transition."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    if any(k.arg in ("axis", None) for k in node.keywords):
        return None
    func, name = node.func, node.func.attr
    is_norm = name == "norm" and isinstance(func.value, ast.Attribute) and func.value.attr == "linalg"
    module_call = isinstance(func.value, ast.Name) and func.value.id in ("np", "jnp", "numpy", "xp")
    if is_norm or (module_call and name in REDUCTIONS):
        if not 1 <= len(node.args) <= (2 if is_norm else 1) or isinstance(node.args[0], (ast.List, ast.Tuple)):
            return None
        return node.args[0]
    if name in REDUCTIONS and not module_call and not node.args and not node.keywords:
        receiver = func.value
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == ROWS_HELPER:
            return None
        return receiver
    return None


def action_column(code: str, space: SpaceInfo) -> tuple[str, int]:
    """A continuous action of one dimension is (N, 1): used as if it were (N,) (`push = action`),
    it broadcasts (N,) terms to (N, N). Each bare use of `action` becomes `action[:, 0]` (not its
    indexing, attributes or calls with an axis). Returns the code and how many uses changed."""
    if space.action_kind != "continuous" or space.action_dim != 1:
        return code, 0
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, 0
    kept = {id(n.value) for n in ast.walk(tree) if isinstance(n, (ast.Subscript, ast.Attribute))}
    kept |= {id(arg) for n in ast.walk(tree) if isinstance(n, ast.Call) and any(k.arg == "axis" for k in n.keywords)
             for arg in n.args}
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "action" and isinstance(n.ctx, ast.Load)
            and id(n) not in kept]
    if not uses:
        return code, 0
    return _apply(code, [_span(n, "action[:, 0]") for n in uses]), len(uses)


def shape_repairs(code: str, space: SpaceInfo) -> list[tuple[str, list[str]]]:
    """Rewrites to try, in order, when the probe finds the output's shape wrong; the critic keeps the
    first after which the reward runs with no shape problem but a scalar or (N, 1) output (which
    `shape_wrapper` then broadcasts)."""
    rows, reductions = per_transition(code, space)
    column, uses = action_column(code, space)
    both, both_uses = action_column(rows, space)
    said_rows = (f"made {reductions} reduction(s) with no axis per transition (over all axes but the "
                 "batch's): one value per transition, not one for the whole batch")
    said_column = f"used the one-column action as `action[:, 0]` ({uses} place(s)), shape (N,) like the other terms"
    tries = [(rows, [said_rows]) if reductions else None, (column, [said_column]) if uses else None,
             (both, [said_rows, said_column]) if reductions and both_uses else None]
    return [t for t in tries if t is not None]


def shape_problems(problems: list[str]) -> bool:
    """Whether the probe found the output's shape wrong (what `shape_repairs` may fix)."""
    return any(word in problem for problem in problems for word in SHAPE_WORDS)


def repair_source(code: str, space: SpaceInfo) -> tuple[str, list[str]]:
    """The fixes made before the probe (see the module's docstring); returns the code and the fixes."""
    fixes: list[str] = []
    lines = code.splitlines()
    for i, line in enumerate(lines):
        replacement = IMPORT_SLIPS.get(line.strip())
        if replacement and line.strip() != replacement:
            if replacement == "import jax.numpy as jnp" and space.array_module != "jax":
                replacement = "import numpy as jnp"
            lines[i] = line.replace(line.strip(), replacement)
            fixes.append(f"rewrote `{line.strip()}` as `{replacement}`")
    code = "\n".join(lines) + "\n"
    code, trimmed = _trim_cut_off(code)
    if trimmed:
        fixes.append(trimmed)
    try:
        ast.parse(code)
    except SyntaxError:
        return code, fixes
    for repair in (lambda c: _math_on_arrays(c, space), _elementwise_logic, _misplaced_statements):
        code, done = repair(code)
        fixes += done
    tree = ast.parse(code)
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    used = {node.value.id for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    for alias, statement in MODULE_ALIASES.items():
        if alias in used and alias not in imported:
            if alias == "jnp" and space.array_module != "jax":
                continue
            code = statement + "\n" + code
            fixes.append(f"added the missing `{statement}`")
    return code, fixes


def _trim_cut_off(code: str) -> tuple[str, str | None]:
    """Code that stops mid-statement (the token limit): drop lines from the end until it parses."""
    try:
        ast.parse(code)
        return code, None
    except SyntaxError as exc:
        if exc.lineno is None or exc.lineno < len(code.rstrip().splitlines()) - 1:
            return code, None  # the error is not at the end: not a cut-off
    lines = code.rstrip().splitlines()
    for end in range(len(lines) - 1, 0, -1):
        candidate = "\n".join(lines[:end]) + "\n"
        try:
            ast.parse(candidate)
        except SyntaxError:
            continue
        if f"def {REWARD_FUNCTION}" in candidate:
            return candidate, f"trimmed {len(lines) - end} cut-off line(s) at the end to the last complete statement"
        break
    return code, None


def shape_wrapper(space: SpaceInfo) -> str:
    xp = "jnp" if space.array_module == "jax" else "np"
    module = "import jax.numpy as jnp" if space.array_module == "jax" else "import numpy as np"
    return f'''

# eureka auto-repair: a scalar or (N, 1) output broadcast or squeezed to shape (N,)
{module}
_eureka_unrepaired_reward = {REWARD_FUNCTION}


def {REWARD_FUNCTION}(obs, action, next_obs, terminated):
    total, components = _eureka_unrepaired_reward(obs, action, next_obs, terminated)
    n = obs.shape[0]

    def to_batch(value):
        value = {xp}.asarray(value, dtype={xp}.float32)
        if value.ndim == 2 and value.shape[1] == 1:
            value = value[:, 0]
        return {xp}.broadcast_to(value, (n,))

    return to_batch(total), {{name: to_batch(value) for name, value in components.items()}}
'''
