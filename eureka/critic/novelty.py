"""Novelty: is a candidate the same reward as one already evaluated?

Three tests, cheapest first:
1. the same program: equal hashes of the normalised AST (docstrings, comments, names of
   local variables and string constants do not count);
2. nearly the same program: token-level similarity above a threshold;
3. the same reward in reward space (EPIC/STARC-style): on a shared set of transitions,
   after removing the best potential-based shaping term from a linear basis of state
   features and normalising the scale, the two rewards are (almost) perfectly correlated.
   A reward equal to another times a positive constant plus a shaping term has the same
   optimal policies. Shaping does change how fast PPO learns, though (dense shaping is the
   point of reward design), so two rewards only count as the same when, besides that, the
   shaping part carries a similar share of each one's variance: a densely shaped reward is
   never skipped because its sparse core was already evaluated.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import hashlib
import io
import math
import tokenize
from dataclasses import dataclass

import numpy as np

from eureka.envs.base import Transitions

KEEP_NAMES = {"np", "jnp", "jax", "math", "numpy", "obs", "action", "next_obs", "terminated",
              "compute_reward"} | set(dir(builtins))
NEAR_DUPLICATE_SIMILARITY = 0.95
REWARD_DISTANCE_THRESHOLD = 0.05
SHAPING_GAMMA = 0.99
SHAPING_SHARE_TOLERANCE = 0.5
MAX_SHAPING_FEATURES = 512  # potential-basis size cap (see _basis_layout)


class _Normaliser(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if name in KEEP_NAMES:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self.rename(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.rename(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self.rename(node.name)
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant(value=""), node)
        return node


def code_fingerprint(code: str) -> str:
    """Hash of the normalised AST; equal for programs that differ only in names, strings, comments."""
    tree = ast.parse(code)
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(getattr(tree.body[0], "value", None), ast.Constant):
        tree.body = tree.body[1:]
    normal = _Normaliser().visit(tree)
    return hashlib.sha256(ast.dump(normal, annotate_fields=False).encode()).hexdigest()[:16]


def _tokens(code: str) -> list[str]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in skip]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.split()


def token_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _tokens(a), _tokens(b), autojunk=False).ratio()


def _state_features(states: np.ndarray, columns: np.ndarray, pairwise: bool) -> np.ndarray:
    """A linear basis for potentials over the chosen columns: s_i, s_i^2, s_i*s_j (i<j, when
    `pairwise`), sin and cos of s_i.

    No constant potential: with terminal potentials at zero it would turn any termination
    bonus or penalty into "shaping", and in tasks whose episodes end early those matter.
    """
    s = states[:, columns].astype(np.float64)
    d = s.shape[1]
    cols = [s, s ** 2, np.sin(s), np.cos(s)]
    if pairwise and d > 1:
        i, j = np.triu_indices(d, k=1)
        cols.append(s[:, i] * s[:, j])
    return np.concatenate(cols, axis=1)


def _basis_layout(transitions: Transitions) -> tuple[np.ndarray, bool]:
    """Which observation columns the shaping basis uses, and whether with pairwise products.

    The basis must stay well below the number of transitions (with as many features as
    samples every reward is "shaping") and small in memory (a 1,345-column observation has
    ~900,000 pairwise products): varying columns only, pairwise products only while they fit,
    else the most varying columns alone.
    """
    budget = min(MAX_SHAPING_FEATURES, max(4, len(transitions) // 4))
    states = np.concatenate([transitions.obs, transitions.next_obs]).astype(np.float64)
    spread = states.std(axis=0)
    varying = np.flatnonzero(spread > 1e-12)
    d = len(varying)
    if 4 * d + d * (d - 1) // 2 <= budget:
        return varying, True
    if 4 * d > budget:
        keep = np.sort(varying[np.argsort(-spread[varying], kind="stable")[: budget // 4]])
        return keep, False
    return varying, False


@dataclass(frozen=True)
class CanonicalReward:
    vector: np.ndarray | None  # unit-norm residual after removing shaping and offset; None if nothing is left
    shaping_share: float  # share of the reward's variance explained by the shaping basis


def shaping_basis(transitions: Transitions, gamma: float = SHAPING_GAMMA) -> np.ndarray:
    """Columns gamma * phi(s') - phi(s) of every basis potential, plus an offset, per transition.
    It depends only on the transitions: build it once for all the rewards compared on them."""
    columns, pairwise = _basis_layout(transitions)
    phi_next = _state_features(transitions.next_obs, columns, pairwise)
    phi_next[transitions.terminated] = 0.0  # the potential of a terminal state is zero
    return np.concatenate([gamma * phi_next - _state_features(transitions.obs, columns, pairwise),
                           np.ones((len(transitions), 1))], axis=1)


def canonical_reward(values: np.ndarray, transitions: Transitions, gamma: float = SHAPING_GAMMA,
                     basis: np.ndarray | None = None) -> CanonicalReward:
    """The reward with its best potential-based shaping term and offset removed, at unit scale
    (`basis`: `shaping_basis(transitions, gamma)`, when the caller keeps it)."""
    r = np.asarray(values, dtype=np.float64)
    if basis is None:
        basis = shaping_basis(transitions, gamma)
    coef, *_ = np.linalg.lstsq(basis, r, rcond=None)
    residual = r - basis @ coef
    residual -= residual.mean()
    norm = float(np.linalg.norm(residual))
    total = float(np.linalg.norm(r - r.mean()))
    if total < 1e-10 or norm < 1e-4 * total:
        return CanonicalReward(None, 1.0 if total >= 1e-10 else 0.0)
    return CanonicalReward(residual / norm, 1.0 - (norm / total) ** 2)


def reward_distance(a: CanonicalReward, b: CanonicalReward) -> float:
    """EPIC-style pseudometric in [0, 1] between two canonical rewards (0: the same reward)."""
    if a.vector is None or b.vector is None:
        return 0.0 if a.vector is None and b.vector is None else 1.0
    rho = float(np.clip(np.dot(a.vector, b.vector), -1.0, 1.0))
    return math.sqrt((1.0 - rho) / 2.0)


def same_reward(a: CanonicalReward, b: CanonicalReward, threshold: float = REWARD_DISTANCE_THRESHOLD) -> bool:
    if a.vector is None or b.vector is None:
        return False  # constant or pure shaping: nothing left to compare
    return (reward_distance(a, b) <= threshold
            and abs(a.shaping_share - b.shaping_share) < SHAPING_SHARE_TOLERANCE)


@dataclass(frozen=True)
class NoveltyVerdict:
    novel: bool
    kind: str | None = None  # "same_program" | "near_duplicate" | "same_reward"
    other: str | None = None
    detail: str = ""


@dataclass
class _Known:
    candidate_id: str
    code: str
    fingerprint: str
    canonical: CanonicalReward | None


class NoveltyFilter:
    """Remembers evaluated candidates and judges newcomers against them."""

    def __init__(self, transitions: Transitions, similarity: float = NEAR_DUPLICATE_SIMILARITY,
                 distance: float = REWARD_DISTANCE_THRESHOLD) -> None:
        self.transitions = transitions
        self._basis: np.ndarray | None = None  # shaping_basis(transitions), built on first use
        self.similarity = similarity
        self.distance = distance
        self.known: list[_Known] = []

    def canonical(self, values: list[float] | np.ndarray | None) -> CanonicalReward | None:
        if values is None or len(values) != len(self.transitions):
            return None
        if self._basis is None:
            self._basis = shaping_basis(self.transitions)
        return canonical_reward(np.asarray(values), self.transitions, basis=self._basis)

    def judge(self, code: str, reward_values: list[float] | None) -> NoveltyVerdict:
        fingerprint = code_fingerprint(code)
        for known in self.known:
            if known.fingerprint == fingerprint:
                return NoveltyVerdict(False, "same_program", known.candidate_id,
                                      f"the same program as {known.candidate_id} (up to names and comments)")
        canonical = self.canonical(reward_values)
        for known in self.known:
            similarity = token_similarity(code, known.code)
            if similarity < self.similarity:
                continue
            if canonical is not None and known.canonical is not None \
                    and not same_reward(canonical, known.canonical, self.distance):
                continue  # one flipped sign or swapped column: nearly the same text, another reward
            return NoveltyVerdict(False, "near_duplicate", known.candidate_id,
                                  f"{similarity:.0%} token-identical to {known.candidate_id}")
        if canonical is not None:
            for known in self.known:
                if known.canonical is None:
                    continue
                d = reward_distance(canonical, known.canonical)
                if same_reward(canonical, known.canonical, self.distance):
                    return NoveltyVerdict(False, "same_reward", known.candidate_id,
                                          f"the same reward as {known.candidate_id} up to scale and "
                                          f"potential-based shaping (distance {d:.3f})")
        return NoveltyVerdict(True)

    def remember(self, candidate_id: str, code: str, reward_values: list[float] | None) -> None:
        self.known.append(_Known(candidate_id, code, code_fingerprint(code), self.canonical(reward_values)))
