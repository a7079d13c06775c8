"""Prompt rendering: jinja2 templates under prompts/, rendered with StrictUndefined."""

from __future__ import annotations

import inspect
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from eureka.envs.base import SpaceInfo
from eureka.llm.base import Message
from eureka.task import TaskSpec

PROMPTS_DIR = Path(os.environ.get("EUREKA_PROMPTS_DIR", Path(__file__).resolve().parent.parent / "prompts"))


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
    return _environment().get_template(template).render(**values)


def env_sources(task: TaskSpec) -> list[SourceSnippet]:
    """Source code named by `context.source` ('module:Qualname'), found by import."""
    snippets = []
    for path in task.context.source:
        module_name, _, qualname = path.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in filter(None, qualname.split(".")):
            obj = getattr(obj, part)
        snippets.append(SourceSnippet(path, inspect.getsource(obj)))
    return snippets


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
