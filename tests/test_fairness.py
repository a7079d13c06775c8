"""The model never sees the answer: for every shipped task, every kind of prompt (initial,
reflection, review, repair, in code mode and in spec mode) is rendered and searched for the
task's human reward and for the env's own reward computation.

What counts as a leak is found here independently of `eureka.design.env_source`: any line of
the env's original source that mentions a reward, the values assigned to reward-like names,
the reward slot of a step's returned tuple, and the lines and larger expressions of the
human reward file. Text is compared with all whitespace removed.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from eureka.design.llm.base import Message
from eureka.design.prompts import PromptBuilder, SpecPromptBuilder, original_source
from eureka.design.spec import SpecMode
from eureka.envs import space_info
from eureka.loop.database import CandidateRecord, Program
from eureka.loop.reflect import Reflection
from eureka.task import TaskSpec, load_task
from tests.helpers import ROOT, require

SHIPPED = sorted((ROOT / "tasks").glob("*.yaml"))
NEEDS = {"brax/": ("brax", "brax (the envs extra)"), "craftax/": ("craftax", "craftax (the envs extra)"),
         "xminigrid/": ("xminigrid", "xminigrid (the jax extra)")}

# The model's own earlier reward, as the scripted LLM would write it: shares nothing with any task.
OWN_REWARD = """Here is my reward.

```python
import math

W_SMALL = 0.5


def compute_reward(obs, action, next_obs, terminated):
    small = W_SMALL * (next_obs[:, 0] - next_obs[:, 0])
    return small, {"small": small}
```
"""
REWARD_WORDS = {"reward", "rewards", "rew", "rews", "cost", "costs", "penalty", "bonus"}
STEP_REWARD_SLOT = {("step", 5): 1, ("step", 4): 1, ("step_env", 5): 2}
MIN_LINE = 10  # shorter normalised lines ("total=a+b") are too generic to count as a leak
MIN_EXPRESSION = 16


def mentions_reward(code: str) -> bool:
    """Whether an identifier in `code` has a word (snake_case or camelCase) of the reward's."""
    return any(word.lower() in REWARD_WORDS for word in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", code))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def code_lines(source: str) -> list[str]:
    """Lines of code (comments and docstrings dropped), whitespace removed."""
    tree = ast.parse(textwrap.dedent(source))
    docstrings = {node.lineno for node in ast.walk(tree) if isinstance(node, ast.Expr)
                  and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    out = []
    for number, line in enumerate(textwrap.dedent(source).splitlines(), start=1):
        code = squeeze(line.split("#", 1)[0])
        if number not in docstrings and code:
            out.append(code)
    return out


def human_reward_fragments(path: Path) -> set[str]:
    """The human reward's substantive lines and larger expressions, normalised."""
    source = path.read_text()
    boring = ("import", "from", "def", "return", '"""', ")", "]", "}")
    fragments = {line for line in code_lines(source) if len(line) >= MIN_LINE and not line.startswith(boring)}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.BinOp, ast.Call, ast.Compare, ast.UnaryOp, ast.BoolOp)):
            text = squeeze(ast.unparse(node))
            if len(text) >= MIN_EXPRESSION:
                fragments.add(text)
    return fragments


def env_reward_fragments(source: str) -> set[str]:
    """The env's reward computation in its original source, normalised (a bare name or item such as
    `velocity[0]`, also read by the dynamics, is not a computation)."""
    fragments = {line for line in code_lines(source)
                 if len(line) >= MIN_LINE and re.search("reward", line, re.IGNORECASE)}
    tree = ast.parse(textwrap.dedent(source))
    values: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            leaves = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if all(mentions_reward(ast.unparse(leaf)) for leaf in leaves):  # `state, reward = f()`: f is dynamics
                values.append(node.value)
        elif isinstance(node, ast.keyword) and node.arg and mentions_reward(node.arg):
            values.append(node.value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
                    slot = STEP_REWARD_SLOT.get((node.name, len(ret.value.elts)))
                    if slot is not None:
                        values.append(ret.value.elts[slot])
    for value in values:
        text = squeeze(ast.unparse(value))
        if len(text) >= 8 and not isinstance(value, (ast.Name, ast.Constant, ast.Subscript, ast.Attribute)):
            fragments.add(text)
    return fragments


def rendered_prompts(task: TaskSpec, space) -> dict[str, list[Message]]:
    """Every prompt the search can send for `task`, in both design modes."""
    record = CandidateRecord(id="i0-c1", iteration=0, index=1, parent_id=None, directory="i0/c1",
                             status="trained", components=["small"], fitness=1.0)
    elite = Program(record, OWN_REWARD.split("```python\n")[1].split("```")[0])
    reflection = Reflection("task_score (ground-truth return): [1, 2], Min: 1, Mean: 1.5, Max: 2", 2)
    problems = ["the total reward must have shape (N,)"]
    code = PromptBuilder(task, space)
    initial = code.initial_messages()
    prompts = {
        "code/initial": initial,
        "code/reflection": code.reflection_messages(OWN_REWARD, reflection, ["it wobbles"], [elite]),
        "code/review": code.review_messages(elite.code),
        "code/repair": code.repair_messages(initial, OWN_REWARD, problems),
    }
    mode = SpecMode.for_task(task, space)
    spec = SpecPromptBuilder(task, space, mode)
    term = ('{"kind": "keep_small", "quantity": "%s", "weight": "small"}' % mode.quantities[0].name
            if mode.quantities else '{"kind": "per_step", "weight": "small"}')  # an image: no scalar quantities
    spec_reply = '{"ends_on": "failure", "terms": [%s]}' % term
    spec_initial = spec.initial_messages()
    prompts.update({
        "spec/initial": spec_initial,
        "spec/reflection": spec.reflection_messages(spec_reply, reflection, ["it wobbles"]),
        "spec/review": spec.review_messages(mode.compile_reply(spec_reply).code),
        "spec/repair": spec.repair_messages(spec_initial, "{oops", problems),
    })
    return prompts


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda path: path.stem)
def shipped(request) -> tuple[TaskSpec, dict[str, str]]:
    task = load_task(request.param)
    for prefix, (module, what) in NEEDS.items():
        if task.env.id.startswith(prefix):
            require(module, what)
    prompts = rendered_prompts(task, space_info(task.env))
    texts = {kind: squeeze("\n".join(m.content for m in messages)) for kind, messages in prompts.items()}
    return task, texts


def test_no_prompt_contains_the_human_reward(shipped):
    task, texts = shipped
    assert task.baselines.human is not None, f"{task.name}: every shipped task has a human reward"
    fragments = human_reward_fragments(task.resolve(task.baselines.human))
    assert fragments, "the check found nothing to look for"
    for kind, text in texts.items():
        leaked = sorted(f for f in fragments if f in text)
        assert not leaked, f"{task.name}: the {kind} prompt contains the human reward: {leaked}"


def test_no_prompt_contains_the_env_reward(shipped):
    task, texts = shipped
    for path in task.context.source:
        fragments = env_reward_fragments(original_source(path))
        for kind, text in texts.items():
            leaked = sorted(f for f in fragments if f in text)
            assert not leaked, f"{task.name}: the {kind} prompt shows {path}'s reward: {leaked}"


def test_code_prompts_still_show_the_env_dynamics(shipped):
    """The source is shown without its reward, not dropped: most of its other assignments are there."""
    task, texts = shipped
    for path in task.context.source:
        tree = ast.parse(textwrap.dedent(original_source(path)))
        statements = [squeeze(ast.unparse(node)) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                      and not mentions_reward(ast.unparse(node))]
        shown = [s for s in statements if s in texts["code/initial"]]
        assert len(shown) >= 0.8 * len(statements), f"{task.name}: {path} lost its dynamics"
    assert not task.context.source or "(itsrewardcomputationisleftout)" in texts["code/initial"]


def test_task_texts_say_what_to_achieve_not_how_it_is_scored(shipped):
    task, _ = shipped
    for field in ("description", "observation", "action"):
        text = getattr(task, field, None) or getattr(task.context, field, None) or ""
        assert not re.search(r"\breward", text, re.IGNORECASE), \
            f"{task.name}: its {field} mentions the reward; say what to achieve instead (tasks/README.md)"


def test_the_checks_would_catch_a_leak():
    """The fragments are found where they are: a prompt that quoted them would fail."""
    cartpole = load_task(ROOT / "tasks" / "cartpole.yaml")
    human = human_reward_fragments(cartpole.resolve(cartpole.baselines.human))
    assert squeeze("alive + 0.5 * upright + 0.2 * centred") in human
    env = env_reward_fragments(original_source(cartpole.context.source[0]))
    assert squeeze("reward = 1.0 - prev_terminal") in env
    pendulum = env_reward_fragments(original_source("gymnasium.envs.classic_control.pendulum:PendulumEnv.step"))
    assert any("0.1*thdot**2" in f for f in pendulum)  # its reward is named `costs`
