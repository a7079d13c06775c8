"""The critic: every candidate is checked before it costs training time.

Stages, each stopping at the first failure:
1. extract: the reply holds a python code block (never a guess: no block, no code);
2. static: the code parses, defines `compute_reward` with the interface's parameters,
   imports only allowed modules and touches no files, network, processes or interpreter
   internals, and indexes the observation within its width;
3. probe: the code runs inside the sandbox on a batch of real transitions and returns a
   finite total of shape (N,) with a non-empty dict of (N,) components;
4. ranking (cheap pre-filter): on recorded episodes with a known ground-truth outcome, the
   reward is not constant and does not rank worse episodes above better ones.

Problems are sentences, written for the repair prompt.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from eureka.envs.base import SpaceInfo, Transitions
from eureka.jobs.probe import FIXABLE_SHAPE
from eureka.critic.prefilter import Episode, check_ranking, episodes_of
from eureka.critic.repair import repair_source, shape_problems, shape_repairs, shape_wrapper
from eureka.training.serialized import read_exported, score_exported
from eureka.training.exported_reward import EXPORTED_REWARDS
from eureka.design.fences import code_block
from eureka.training.base import FitnessSpec
from eureka.reward import REWARD_FUNCTION, REWARD_PARAMETERS
from eureka.sandbox.base import JOB_FILE, Sandbox, SandboxJob, SandboxLimits

Stage = Literal["extract", "static", "probe", "ranking", "review", "passed"]

ALLOWED_IMPORTS = {
    "numpy": {"numpy", "math"},
    "jax": {"jax", "jax.numpy", "math", "numpy"},
}
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
    "getattr", "setattr", "delattr", "input", "breakpoint", "memoryview", "exit", "quit",
    "help", "__builtins__", "__loader__", "__spec__",
}
PYTHON_TAGS = ("python", "py", "python3", "")


@dataclass
class CriticVerdict:
    stage: Stage
    problems: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    sandbox_verdict: str | None = None
    sandbox_detail: str | None = None
    probe_seconds: float | None = None
    ranking: str | None = None  # what the pre-filter found
    review: list[str] | None = None  # what the LLM critic said, when it was asked
    fixes: list[str] = field(default_factory=list)  # deterministic auto-repairs applied
    reward_values: list[float] | None = field(default=None, repr=False)  # total per probe transition

    @property
    def accepted(self) -> bool:
        return self.stage == "passed"

    def to_json(self) -> dict:
        data = {"accepted": self.accepted, **asdict(self)}
        data.pop("reward_values")
        return data


def extract_code(reply: str) -> str | None:
    """The python block of a reply that defines compute_reward (else the last python block).

    A final block left open (generation stopped at, or before, its closing fence) counts
    when it defines the function; text with no fence at all never does.
    """
    block = code_block(reply, PYTHON_TAGS, marker=f"def {REWARD_FUNCTION}")
    return None if block is None else block.strip() + "\n"


def static_problems(code: str, space: SpaceInfo) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"SyntaxError: {exc.msg} (line {exc.lineno}: {(exc.text or '').strip()})"]
    problems: list[str] = []
    allowed = ALLOWED_IMPORTS[space.array_module]
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    fn = functions.get(REWARD_FUNCTION)
    if fn is None:
        problems.append(f"the code must define a top-level function `{REWARD_FUNCTION}`")
    else:
        params = tuple(a.arg for a in fn.args.posonlyargs + fn.args.args)
        if params != REWARD_PARAMETERS:
            problems.append(f"`{REWARD_FUNCTION}` must take exactly the parameters "
                            f"({', '.join(REWARD_PARAMETERS)}); it takes ({', '.join(params)})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in allowed:
                    problems.append(f"import of '{alias.name}' is not allowed (allowed: {', '.join(sorted(allowed))})")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module not in allowed:
                problems.append(f"import from '{module}' is not allowed (allowed: {', '.join(sorted(allowed))})")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"use of '{node.id}' is not allowed in a reward function")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            problems.append(f"access to the attribute '{node.attr}' is not allowed")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            problems.append("global/nonlocal state is not allowed: a reward must be a pure function")
    problems.extend(_index_problems(tree, space.obs_dim))
    return list(dict.fromkeys(problems))


def _index_problems(tree: ast.AST, obs_dim: int) -> list[str]:
    """Constant column indices beyond the observation width (JAX would clamp them silently)."""
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                and node.value.id in ("obs", "next_obs")):
            continue
        index = node.slice
        column = index.elts[-1] if isinstance(index, ast.Tuple) and len(index.elts) == 2 else None
        if isinstance(column, ast.UnaryOp) and isinstance(column.op, ast.USub) and isinstance(column.operand, ast.Constant):
            value = -column.operand.value
        elif isinstance(column, ast.Constant):
            value = column.value
        else:
            continue
        if isinstance(value, int) and not -obs_dim <= value < obs_dim:
            problems.append(f"{node.value.id}[:, {value}] is out of range: the observation has "
                            f"{obs_dim} columns ({node.value.id}[:, 0] .. {node.value.id}[:, {obs_dim - 1}])")
    return problems


class Critic:
    """Checks candidates against one task's observation/action spaces and sampled transitions."""

    def __init__(self, sandbox: Sandbox, space: SpaceInfo, transitions: Transitions,
                 limits: SandboxLimits | None = None, fitness: FitnessSpec | None = None,
                 selection: bool = True) -> None:
        self.sandbox = sandbox
        self.selection = selection  # False: skip the constant-reward and ranking checks (ablations)
        self.space = space
        self.limits = limits or SandboxLimits(timeout_s=60.0, memory_mb=1024)
        self.fitness = fitness
        self.use_transitions(transitions)

    def use_transitions(self, transitions: Transitions, episodes: list[Episode] | None = None) -> None:
        """Probe on these transitions; the pre-filter ranks `episodes` of them (default: every
        whole episode, reading `transitions` as one single-env sequence)."""
        self.transitions = transitions
        if episodes is None:
            episodes = episodes_of(transitions, self.fitness) if self.fitness else []
        self.episodes = episodes
        buffer = io.BytesIO()  # serialised once, copied into every probe's scratch dir
        transitions.save(buffer)
        self._transitions_npz = buffer.getvalue()

    def check_reply(self, reply: str, auto_repair: bool = True) -> tuple[str | None, CriticVerdict]:
        """The code of a reply (auto-repaired where allowed) and its verdict."""
        code = extract_code(reply)
        if code is None:
            return None, CriticVerdict("extract", ["the reply has no ```python code block"])
        if not auto_repair:
            return code, self.check_code(code)
        code, fixes = repair_source(code, self.space)
        problems = static_problems(code, self.space)
        if problems:
            return code, CriticVerdict("static", problems, fixes=fixes)
        verdict = self.probe(code)
        for rewritten, done in shape_repairs(code, self.space) if shape_problems(verdict.problems) else []:
            retry = self.probe(rewritten)  # a reduction over the whole batch, a one-column action as (N,)
            if retry.stage != "probe" or all(p.startswith(FIXABLE_SHAPE) for p in retry.problems):
                code, verdict, fixes = rewritten, retry, fixes + done  # it runs (a scalar left is broadcast)
                break
        if verdict.problems and all(p.startswith(FIXABLE_SHAPE) for p in verdict.problems):
            code = code.rstrip("\n") + "\n" + shape_wrapper(self.space)
            fixes = fixes + ["broadcast or squeezed a scalar or (N, 1) output to shape (N,)"]
            verdict = self.probe(code)
        verdict.fixes = fixes
        return code, _unmarked(verdict)

    def check_code(self, code: str) -> CriticVerdict:
        problems = static_problems(code, self.space)
        if problems:
            return CriticVerdict("static", problems)
        return _unmarked(self.probe(code))

    def probe(self, code: str) -> CriticVerdict:
        scratch = Path(tempfile.mkdtemp(prefix="eureka-probe-"))
        try:
            (scratch / "reward.py").write_text(code)
            (scratch / "transitions.npz").write_bytes(self._transitions_npz)
            (scratch / JOB_FILE).write_text(json.dumps({
                "reward_file": "reward.py",
                "transitions_file": "transitions.npz",
                "space": asdict(self.space),
            }))
            scratch.chmod(0o777)  # the sandboxed job may run as an unprivileged uid
            for path in scratch.iterdir():
                path.chmod(0o666)
            outcome = self.sandbox.run(SandboxJob("eureka.jobs.probe", scratch, self.limits))
            exported = read_exported(scratch) if self.space.array_module == "jax" else None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = outcome.wall_s
        if exported is not None and outcome.ok and outcome.result and not outcome.result.get("problems"):
            # jax: the numbers come from the serialized function, in a job that ran no candidate Python
            outcome = score_exported(self.sandbox, self.limits, exported, self._transitions_npz, self.space)
            seconds += outcome.wall_s
            EXPORTED_REWARDS.put(code, exported)
        elif self.space.array_module == "jax" and outcome.ok and outcome.result and not outcome.result.get("problems"):
            outcome = dataclasses.replace(outcome, result={"problems": ["the probe did not hand over the serialized reward"]})
        verdict = CriticVerdict("probe", sandbox_verdict=outcome.verdict.value,
                                sandbox_detail=outcome.detail, probe_seconds=round(seconds, 3))
        if not outcome.ok:
            last = outcome.log_tail.strip().splitlines()[-3:]
            verdict.problems = [f"running the reward in the sandbox failed: {outcome.detail}"
                                + (f" ({' | '.join(last)})" if last else "")]
            return verdict
        assert outcome.result is not None
        try:
            answer = ProbeAnswer.model_validate(outcome.result)
        except ValidationError as exc:
            verdict.problems = [f"the probe job wrote an unreadable result ({exc.error_count()} errors)"]
            return verdict
        verdict.problems = answer.problems
        verdict.components = answer.components
        if verdict.problems:
            return verdict
        values = answer.reward_values
        if not isinstance(values, list) or len(values) != len(self.transitions):
            verdict.problems = ["the probe returned no reward values"]
            return verdict
        verdict.reward_values = values
        return self.rank(verdict, np.asarray(values, dtype=np.float64))

    def rank(self, verdict: CriticVerdict, values: np.ndarray) -> CriticVerdict:
        if not self.selection:
            verdict.stage = "passed"
            return verdict
        if np.ptp(values) == 0:
            verdict.stage = "ranking"
            verdict.problems = [f"the reward is the same ({values[0]:.3g}) for all {len(values)} sampled "
                                "transitions: it gives the policy nothing to learn from"]
            return verdict
        check = check_ranking(values, self.episodes)
        verdict.ranking = check.detail
        if not check.passed:
            verdict.stage = "ranking"
            verdict.problems = [check.detail]
            return verdict
        verdict.stage = "passed"
        return verdict


class ProbeAnswer(BaseModel):
    """What the probe job may say (untrusted: it ran the candidate); anything else is refused."""

    problems: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    reward_values: list[float] | None = None


REVIEW_VERDICT = re.compile(r"VERDICT:\s*\**\s*(ACCEPT|REJECT)", re.IGNORECASE)


@dataclass(frozen=True)
class Review:
    """The LLM critic's verdict on a candidate (semantic errors a probe cannot see)."""

    accepted: bool
    reasons: list[str]
    parsed: bool


def parse_review(text: str) -> Review:
    """The verdict of a review reply. No verdict (an empty, cut-off or prose reply, or one
    that says both ACCEPT and REJECT) is no acceptance: `parsed` is False and the reason says why."""
    matches = list(REVIEW_VERDICT.finditer(text))
    verdicts = {m.group(1).upper() for m in matches}
    if len(verdicts) != 1:
        return Review(False, [_no_verdict(text, both=len(verdicts) > 1)], parsed=False)
    match = matches[-1]
    bullets = [line.strip() for line in text[match.end():].splitlines()]
    reasons = [b.lstrip("-*• ").strip() for b in bullets if b.startswith(("-", "*", "•"))]
    reasons = [r for r in reasons if r]
    accepted = verdicts == {"ACCEPT"}
    if not accepted and not reasons:
        reasons = ["the reviewer rejected the reward without giving a reason"]
    return Review(accepted, reasons, parsed=True)


def _no_verdict(text: str, both: bool) -> str:
    if both:
        return "the review named both ACCEPT and REJECT, so it gave no verdict"
    shown = " ".join(text.split())
    if not shown:
        return "the review came back empty (no VERDICT line)"
    return f"the review gave no VERDICT line: {shown[:160]!r}" + ("..." if len(shown) > 160 else "")


def _unmarked(verdict: CriticVerdict) -> CriticVerdict:
    verdict.problems = [p.removeprefix(FIXABLE_SHAPE) for p in verdict.problems]
    return verdict
