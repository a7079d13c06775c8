"""Environment source for prompts, with the reward computation taken out.

The model may read how an environment observes and moves (its step and observation code),
never how the environment scores: that is the ground truth the search is judged on. As
Eureka did, the reward lines are removed before the source reaches a prompt; here it is
done on the syntax tree, so it holds for any backend's code (gymnax ``step_env``,
Gymnasium ``step``, brax ``step``, helper functions) without per-env rules:

- functions, methods, parameters, attributes, keywords and dict keys whose name says reward,
  cost, penalty or bonus are removed;
- so are assignments to such names (``self.rew_buf[:] = ...`` of an Isaac Gym task too),
  calls of such functions as statements (``self.compute_reward(self.actions)``), and the value
  in the reward slot of a step's returned tuple (Gymnasium ``step``: the 2nd item, gymnax
  ``step_env``: the 3rd), with the local names it reads; in a tuple target that also assigns
  something else (``self.rew_buf[:], self.reset_buf[:] = ...``) the reward's place becomes ``_``;
- then every local assignment that only fed removed code (e.g. ``prev_terminal`` in
  CartPole), until none is left; a removed value still read elsewhere becomes ``...``;
- docstrings and comments are dropped too (they often state the reward in words).

    >>> print(without_reward('''
    ... def step(self, action):
    ...     \"\"\"Move; the reward is -1 per step.\"\"\"
    ...     position = self.position + action
    ...     done = position >= 0.5
    ...     reward = -1.0
    ...     return position, reward, done, False, {}
    ... '''))
    def step(self, action):
        position = self.position + action
        done = position >= 0.5
        return (position, ..., done, False, {})
"""

from __future__ import annotations

import ast
import re
import textwrap

# Words of an identifier (snake_case or camelCase) that mark it as part of the reward.
REWARD_WORDS = {"reward", "rewards", "rew", "rews", "cost", "costs", "penalty", "penalties", "bonus"}
# The reward's position in the tuple a step function returns, by the function's name and the
# tuple's length: Gymnasium (obs, reward, terminated, truncated, info), old Gym (obs, reward,
# done, info), gymnax (obs, state, reward, done, info).
REWARD_SLOT = {("step", 5): 1, ("step", 4): 1, ("step_env", 5): 2}


def is_reward_name(name: str) -> bool:
    """``forward_reward``, ``ctrl_cost``, ``_get_rew``, ``rewardScale``: yes; ``costheta``: no."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    return any(word.lower() in REWARD_WORDS for word in words)


def without_reward(source: str) -> str:
    """`source` (a module, class or function, possibly indented) with the reward removed."""
    tree = ast.parse(textwrap.dedent(source))
    _strip_body(tree.body)
    return ast.unparse(ast.fix_missing_locations(tree))


def _strip_body(body: list[ast.stmt]) -> list[ast.stmt]:
    """Strip one block in place (and the blocks inside it)."""
    kept = []
    for index, stmt in enumerate(body):
        if index == 0 and _is_docstring(stmt):
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if is_reward_name(stmt.name):
                continue
            _strip_function(stmt)
        elif isinstance(stmt, ast.ClassDef):
            if is_reward_name(stmt.name):
                continue
            stmt.body = _strip_body(stmt.body) or [ast.Pass()]
        elif _assigns_only_reward(stmt) or _calls_reward(stmt):
            continue
        else:
            for block in _blocks(stmt):
                _strip_body(block)
        kept.append(stmt)
    body[:] = kept
    return body


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists inside a compound statement (not a function or class)."""
    blocks = [getattr(stmt, f) for f in ("body", "orelse", "finalbody") if isinstance(getattr(stmt, f, None), list)]
    if isinstance(stmt, ast.Try):
        blocks += [handler.body for handler in stmt.handlers]
    return blocks


def _strip_function(func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    _drop_reward_parameters(func.args)
    tainted = {name for name in _assigned_names(func) if is_reward_name(name)}
    tainted |= _reward_slot_names(func)
    removed: set[str] = set(tainted)
    while True:
        read_by_removed = _remove_tainted(func, removed)
        dead = {name for name in read_by_removed & _assigned_names(func) - removed
                if name not in _loaded_names(func)}
        if not dead:
            break
        removed |= dead
    _strip_body(func.body)
    _Scrubber(removed).visit(func)
    _drop_empty_blocks(func.body)
    if not func.body:
        func.body = [ast.Pass()]


def _remove_tainted(func: ast.AST, removed: set[str]) -> set[str]:
    """Remove the statements that only assign `removed` names; the names those statements
    read (candidates for dead code) are returned."""
    read: set[str] = set()

    def visit(body: list[ast.stmt]) -> list[ast.stmt]:
        kept = []
        for stmt in body:
            targets = _targets(stmt)
            if targets is not None and targets and all(t in removed for t in targets):
                value = getattr(stmt, "value", None)
                if value is not None:
                    read.update(n.id for n in ast.walk(value) if isinstance(n, ast.Name))
                continue
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for block in _blocks(stmt):
                    block[:] = visit(block)
            kept.append(stmt)
        return kept

    func.body = visit(func.body)  # type: ignore[attr-defined]
    return read


def _targets(stmt: ast.stmt) -> list[str] | None:
    """Names a plain assignment writes (None for other statements or non-name targets)."""
    if isinstance(stmt, ast.Assign):
        names = [_flat_names(t) for t in stmt.targets]
        return None if any(n is None for n in names) else [x for n in names for x in n]  # type: ignore[union-attr]
    if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        return _flat_names(stmt.target)
    return None


def _flat_names(target: ast.expr) -> list[str] | None:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = [_flat_names(e) for e in target.elts]
        return None if any(n is None for n in names) else [x for n in names for x in n]  # type: ignore[union-attr]
    return None


def _assigns_only_reward(stmt: ast.stmt) -> bool:
    """An assignment whose every target is named like a reward (a name, an attribute such as
    ``self._ctrl_cost_weight``, or a subscript with such a key)."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    else:
        return False
    leaves = [leaf for t in targets for leaf in _target_leaves(t)]
    return bool(leaves) and all(_reward_target(leaf) for leaf in leaves)


def _calls_reward(stmt: ast.stmt) -> bool:
    """A call as a statement of a function named like a reward: ``self.compute_reward(actions)``."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return is_reward_name(name)


def _target_leaves(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [leaf for e in target.elts for leaf in _target_leaves(e)]
    return [target]


def _reward_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return is_reward_name(target.id)
    if isinstance(target, ast.Attribute):
        return is_reward_name(target.attr)
    if isinstance(target, ast.Subscript):  # rewards[i] = ..., info["reward_ctrl"] = ...
        key = target.slice
        named_key = isinstance(key, ast.Constant) and isinstance(key.value, str) and is_reward_name(key.value)
        return named_key or _reward_target(target.value)
    return False


def _drop_reward_parameters(args: ast.arguments) -> None:
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    kept = [(a, d) for a, d in zip(positional, defaults) if not is_reward_name(a.arg)]
    only = len(args.posonlyargs) - sum(is_reward_name(a.arg) for a in args.posonlyargs)
    args.posonlyargs = [a for a, _ in kept[:only]]
    args.args = [a for a, _ in kept[only:]]
    kept_defaults = [d for _, d in kept]
    first = next((i for i, d in enumerate(kept_defaults) if d is not None), len(kept_defaults))
    args.defaults = [d for d in kept_defaults[first:] if d is not None]
    kw = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if not is_reward_name(a.arg)]
    args.kwonlyargs = [a for a, _ in kw]
    args.kw_defaults = [d for _, d in kw]


def _assigned_names(func: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _loaded_names(func: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _reward_slot_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Local names read by the reward slot of the tuples a step function returns (not those
    also returned in another slot, such as ``done``)."""
    local = _assigned_names(func)
    names: set[str] = set()
    for ret in _own_returns(func):
        slot = _reward_slot(func.name, ret.value)
        if slot is None:
            continue
        elements = ret.value.elts  # type: ignore[union-attr]
        others = {n.id for i, e in enumerate(elements) if i != slot for n in ast.walk(e) if isinstance(n, ast.Name)}
        names |= {n.id for n in ast.walk(elements[slot]) if isinstance(n, ast.Name)} & local - others
    return names


def _reward_slot(name: str, value: ast.expr | None) -> int | None:
    if isinstance(value, ast.Tuple):
        return REWARD_SLOT.get((name, len(value.elts)))
    return None


def _own_returns(func: ast.AST) -> list[ast.Return]:
    """Return statements of `func` itself, not of functions nested in it."""
    found: list[ast.Return] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Return):
                found.append(child)
            visit(child)

    visit(func)
    return found


class _Scrubber(ast.NodeTransformer):
    """Inside kept statements: reward slots, reward-named keywords and dict keys go; reads of
    removed names and reward-named attributes become ``...``; reward names in tuple targets
    become ``_``."""

    def __init__(self, removed: set[str]) -> None:
        self.removed = removed
        self.function: str | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if self.function is not None:  # a nested function: its own pass already ran
            return node
        self.function = node.name
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                target.elts = [ast.Name("_", ast.Store()) if _reward_target(e) else e for e in target.elts]
        self.generic_visit(node)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        slot = _reward_slot(self.function or "", node.value)
        if slot is not None:
            node.value.elts[slot] = ast.Constant(...)  # type: ignore[union-attr]
        self.generic_visit(node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.removed or is_reward_name(node.id):
            return ast.Name("_", node.ctx) if isinstance(node.ctx, ast.Store) else ast.Constant(...)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if is_reward_name(node.attr) and isinstance(node.ctx, ast.Load):
            return ast.Constant(...)
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.keywords = [k for k in node.keywords if k.arg is None or not is_reward_name(k.arg)]
        self.generic_visit(node)
        return node

    def _reward_entry(self, key: ast.expr | None, value: ast.expr) -> bool:
        if key is None:  # {**reward_info}
            return isinstance(value, ast.Name) and (value.id in self.removed or is_reward_name(value.id)) or (
                isinstance(value, ast.Attribute) and is_reward_name(value.attr))
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and is_reward_name(key.value)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        pairs = [(k, v) for k, v in zip(node.keys, node.values) if not self._reward_entry(k, v)]
        node.keys = [k for k, _ in pairs]
        node.values = [v for _, v in pairs]
        self.generic_visit(node)
        return node


def _drop_empty_blocks(body: list[ast.stmt]) -> None:
    """Blocks left empty by the removal: an `if` with nothing in either branch goes, an empty
    branch beside a kept one becomes `pass`."""
    kept = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept.append(stmt)
            continue
        for block in _blocks(stmt):
            _drop_empty_blocks(block)
        if isinstance(stmt, ast.Try):
            for handler in stmt.handlers:
                handler.body = handler.body or [ast.Pass()]
        loop_or_branch = isinstance(stmt, (ast.If, ast.For, ast.While, ast.With))
        if loop_or_branch and not stmt.body and not getattr(stmt, "orelse", []):
            continue
        if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)) and not stmt.body:
            stmt.body = [ast.Pass()]
        kept.append(stmt)
    body[:] = kept


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
