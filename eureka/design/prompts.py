"""Prompt rendering: jinja2 templates under prompts/, rendered with StrictUndefined."""

from __future__ import annotations

import ast
import inspect
import importlib
import importlib.machinery
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import jinja2

from eureka import config
from eureka.envs.base import SpaceInfo
from eureka.design.env_source import without_reward
from eureka.design.llm.base import Message
from eureka.resources import shipped
from eureka.task import TaskSpec

PROMPTS_DIR = config.env_prompts_dir(shipped("prompts"))


@dataclass(frozen=True)
class SourceSnippet:
    name: str
    code: str


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **values: Any) -> str:
    """The prompt, scrubbed of secret-shaped text: job output (errors, problems) flows in."""
    from eureka.sandbox.untrusted import scrub_text

    return scrub_text(_environment().get_template(template).render(**values))


def env_sources(task: TaskSpec) -> list[SourceSnippet]:
    """Source code named by `context.source` ('module:Qualname'), found by import (read from its
    file without importing it on the isaacgym backend: see `static_source`), with the env's reward
    computation removed (the model never sees the ground truth)."""
    if task.env.backend == "isaacgym":
        folder = [str(task.path.parent)] if task.path else []
        return [SourceSnippet(path, without_reward(static_source(path, folder))) for path in task.context.source]
    return [SourceSnippet(path, without_reward(original_source(path))) for path in task.context.source]


def static_source(path: str, folders: Sequence[str] = ()) -> str:
    """The source of 'module:Qualname' (a class or function, decorators included) read from the
    module's file, running none of its code nor its packages' ``__init__``: an Isaac Gym task's
    import needs Isaac Gym (and must come before torch's). The module is looked up as Python
    would (sys.path, editable installs), then in `folders`. Raises ImportError or LookupError."""
    module_name, _, qualname = path.partition(":")
    parts = module_name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: found, not imported
    except (ImportError, ValueError):
        spec = None
    spec = spec or importlib.machinery.PathFinder.find_spec(parts[0], list(folders))
    for depth in range(2, len(parts) + 1):
        locations = list(spec.submodule_search_locations or []) if spec else []
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]), locations) if locations else None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ImportError(f"no Python source file for the module {module_name!r}")
    text = Path(spec.origin).read_text(encoding="utf-8")
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            raise LookupError(f"{spec.origin} defines no class or function {qualname!r}")
        body = node.body  # type: ignore[attr-defined]
    assert node is not None and node.end_lineno is not None
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    return "".join(text.splitlines(keepends=True)[first - 1:node.end_lineno])


def original_source(path: str) -> str:
    """The source of 'module:Qualname' as written, reward included: not for prompts."""
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


class PromptBuilder:
    """Builds the chat messages of every prompt the search loop sends."""

    def __init__(self, task: TaskSpec, space: SpaceInfo) -> None:
        self.task = task
        self.space = space
        self.system = render("system.j2", space=space)
        self.initial = render(
            "initial.j2",
            task=task,
            observation=task.context.observation,
            action=task.context.action,
            sources=env_sources(task),
        )

    def initial_messages(self) -> list[Message]:
        return [Message("system", self.system), Message("user", self.initial)]

    def continues(self, code: str) -> bool:
        """Whether a parent with this reward code can be shown as this designer's own reply: any code."""
        return True

    def parent_turn(self, reply: str, code: str) -> str:
        """The parent as the assistant's turn of a reflection prompt: its reply when that holds code,
        else (a spec, in a mixed run) the code it compiled to."""
        from eureka.design.fences import code_block

        if code_block(reply, ("python", "py", "python3", "")) is not None or not code.strip():
            return reply
        return f"```python\n{code.strip()}\n```"

    def reflection_messages(self, parent_reply: str, reflection: Any, feedback: list[str] | None = None,
                            other_elites: list[Any] | None = None) -> list[Message]:
        """The parent's reply, then its reflection, human feedback and other elites (program database)."""
        return self.initial_messages() + [
            Message("assistant", parent_reply),
            Message("user", render("reflection.j2", reflection=reflection, feedback=feedback or [],
                                   elites=other_elites or [])),
        ]

    def review_messages(self, code: str) -> list[Message]:
        return self.initial_messages() + [Message("user", render("review.j2", code=code))]

    def repair_messages(self, messages: list[Message], reply: str, problems: list[str]) -> list[Message]:
        return messages + [
            Message("assistant", reply),
            Message("user", render("repair.j2", problems=problems)),
        ]


class SpecPromptBuilder:
    """The prompts of structured mode (eureka.design.spec): same methods as `PromptBuilder`, but the
    model answers with a JSON reward spec, and previous rewards are shown as their specs."""

    def __init__(self, task: TaskSpec, space: SpaceInfo, mode: Any, edit_options: int = 6) -> None:
        from eureka.design.custom_expression import FUNCTIONS
        from eureka.design.spec import WEIGHTS, WIDTHS

        self.task = task
        self.space = space
        self.mode = mode  # eureka.design.spec.SpecMode
        self.edit_options = edit_options  # ready-made one-step edits of the parent in a reflection prompt
        vocabulary = mode.vocabulary
        self.system = render("spec_system.j2", space=space, kinds=vocabulary.kinds, weights=list(WEIGHTS),
                             widths=list(WIDTHS), max_terms=vocabulary.max_terms, functions=sorted(FUNCTIONS))
        self.initial = render("spec_initial.j2", task=task, quantities=mode.quantities,
                              action=task.context.action)

    def initial_messages(self) -> list[Message]:
        return [Message("system", self.system), Message("user", self.initial)]

    def continues(self, code: str) -> bool:
        """Whether a parent with this reward code can be shown as a spec: only a compiled spec can
        (free-form code from a mixed run cannot)."""
        return self.mode.spec_of(code) is not None

    def parent_turn(self, reply: str, code: str) -> str:
        return reply  # reflection_messages shows the spec of the reply

    def reflection_messages(self, parent_reply: str, reflection: Any, feedback: list[str] | None = None,
                            other_elites: list[Any] | None = None) -> list[Message]:
        """The parent's spec, then its reflection, human feedback, other elites' specs and
        ready-made edits of the parent's spec to choose from."""
        import zlib

        from eureka.design.edits import edits

        elites = []
        for elite in other_elites or []:
            spec = self.mode.spec_text(elite.code)
            if spec is not None:
                fitness = elite.record.fitness
                elites.append({"spec": spec, "fitness": "none" if fitness is None else f"{fitness:.4g}"})
        parent = self.mode.spec_of(parent_reply)
        options = []
        if parent is not None and self.edit_options:
            seed = zlib.crc32(parent.dumps().encode())
            options = [{"description": e.description, "spec": e.spec.dumps()}
                       for e in edits(parent, self.mode.vocabulary, self.edit_options, seed)]
        return self.initial_messages() + [
            Message("assistant", parent.dumps() if parent else parent_reply.strip()),
            Message("user", render("spec_reflection.j2", reflection=reflection, feedback=feedback or [],
                                   elites=elites, edits=options)),
        ]

    def review_messages(self, code: str) -> list[Message]:
        return self.initial_messages() + [Message("user", render("review.j2", code=code))]

    def repair_messages(self, messages: list[Message], reply: str, problems: list[str]) -> list[Message]:
        return messages + [
            Message("assistant", reply.strip()),
            Message("user", render("spec_repair.j2", problems=problems)),
        ]
