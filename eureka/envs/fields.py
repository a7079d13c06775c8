"""Named fields of a structured observation, and the layout lines the designer sees for them.

A gymnasium env whose observation space is a ``Dict`` (or ``Tuple``) is flattened for rewards
and policies (gymnasium's FlattenObservation: fields in the space's order, a Box row by row, a
Discrete as a one-hot vector). The fields keep their names as column ranges: `fields_of_space`
lists them, and `layout_with_fields` turns a task's layout text into what the designer reads:

- ``obs["key"]`` in the text (``obs[:, "key"]`` too) becomes that field's columns, so a task
  author describes a field by its key (``obs["grid"]: a 5 x 5 grid with 3 one-hot channels: ...``)
  without counting columns;
- each field no line describes gets a generated line: its key, shape and bounds
  (``obs[:, 0:2]: agent_pos, a vector of 2, in [0, 4]``);
- ``obs["key"]`` in a named state expression (``context.state``) becomes the field's columns
  too, so ``np.sum(obs["grid"][:, 0::2], axis=1)`` reads the field's even columns.

Nested fields are named ``outer.inner``; a Tuple's by position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from eureka.task import TaskSpec

FieldKind = Literal["box", "one_hot", "flags", "other"]
KEY_REFERENCE = re.compile(r"""obs\s*\[\s*(?:(?::|\.\.\.)\s*,\s*)?(?P<q>["'])(?P<key>[^"'\n]{1,100})(?P=q)\s*\]""")
COLUMNS_LINE = re.compile(r"^\s*(?:[-*]\s*)?obs\s*\[\s*(?:(?::|\.\.\.)\s*,\s*)?(?P<first>\d+)(?:\s*:\s*(?P<stop>\d+))?\s*\]")


@dataclass(frozen=True)
class ObsField:
    """One field of a structured observation: columns [start, stop) of the flattened vector."""

    key: str
    start: int
    stop: int
    shape: tuple[int, ...]
    kind: FieldKind = "box"
    low: float | None = None  # the field's bounds, where one finite pair holds for every entry
    high: float | None = None
    first_value: int = 0  # one_hot: the value of its first column (a Discrete's start)

    @property
    def columns(self) -> str:
        if self.stop - self.start == 1:
            return f"obs[:, {self.start}]"
        return f"obs[:, {self.start}:{self.stop}]"

    def layout_line(self) -> str:
        size = self.stop - self.start
        parts = [self.key]
        if self.kind == "one_hot" and len(self.shape) <= 1:
            parts.append(f"one-hot over its {size} values: column {self.start} + v is 1 when {self.key} is "
                         f"{self.first_value} + v")
        elif self.kind == "one_hot":
            parts.append(f"one-hot per entry of {len(self.shape)} discrete entries, one block of columns each")
        elif self.kind == "flags":
            parts.append(f"{size} flags, each 0 or 1")
        elif len(self.shape) >= 2:
            parts.append(f"a {' x '.join(map(str, self.shape))} array, flattened row by row (the last index fastest)")
        elif size > 1:
            parts.append(f"a vector of {size}")
        if self.kind == "box" and self.low is not None and self.high is not None:
            parts.append(f"in [{self.low:g}, {self.high:g}]")
        return f"{self.columns}: {', '.join(parts)}"


def fields_of_space(space, prefix: str = "", start: int = 0) -> list[ObsField]:
    """The leaves of a gymnasium Dict/Tuple space in flatten order (empty for any other space)."""
    from gymnasium import spaces

    if not prefix and not isinstance(space, (spaces.Dict, spaces.Tuple)):
        return []
    items = space.spaces.items() if isinstance(space, spaces.Dict) else \
        enumerate(space.spaces) if isinstance(space, spaces.Tuple) else None
    if items is not None:
        found: list[ObsField] = []
        for key, sub in items:
            found += fields_of_space(sub, f"{prefix}{key}.", start)
            start += int(spaces.flatdim(sub))
        return found
    key = prefix[:-1]
    width = int(spaces.flatdim(space))
    if isinstance(space, spaces.Box):
        low, high = np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)
        bounded = low.size and np.all(low == low.flat[0]) and np.all(high == high.flat[0]) \
            and math.isfinite(low.flat[0]) and math.isfinite(high.flat[0])
        return [ObsField(key, start, start + width, tuple(int(n) for n in space.shape), "box",
                         float(low.flat[0]) if bounded else None, float(high.flat[0]) if bounded else None)]
    if isinstance(space, spaces.Discrete):
        return [ObsField(key, start, start + width, (width,), "one_hot", first_value=int(space.start))]
    if isinstance(space, spaces.MultiDiscrete):
        return [ObsField(key, start, start + width, tuple(int(n) for n in np.ravel(space.nvec)), "one_hot")]
    if isinstance(space, spaces.MultiBinary):
        return [ObsField(key, start, start + width, (width,), "flags")]
    return [ObsField(key, start, start + width, (width,), "other")]


def unknown_keys(observation: str | None, fields: list[ObsField]) -> list[str]:
    """Keys ``obs["key"]`` in the layout text names that are no field of the observation."""
    known = {f.key for f in fields}
    return sorted({m.group("key") for m in KEY_REFERENCE.finditer(observation or "")} - known)


def reference_problem(observation: str | None, fields: list[ObsField]) -> str | None:
    """Why the layout's ``obs["key"]`` references cannot be resolved (None when they can)."""
    unknown = unknown_keys(observation, fields)
    if not unknown:
        return None
    if not fields:
        return (f"obs[{unknown[0]!r}] names a field, but the observation has no named fields (it is not a "
                "gymnasium Dict or Tuple space); name columns instead: obs[:, i] or obs[:, i:j]")
    return (f"obs[{unknown[0]!r}] names no field of the observation; its fields are "
            f"{', '.join(f.key for f in fields[:20])}")


def field_texts(task: "TaskSpec") -> dict[str, str]:
    """The task's texts that may name fields, by task-file field: the layout and each named state."""
    texts = {"context.observation": task.context.observation or ""}
    texts.update({f"context.state.{name}": entry.expression for name, entry in task.context.state.items()})
    return texts


def field_problems(task: "TaskSpec", fields: list[ObsField]) -> list[str]:
    """``<task-file field>: <why>`` for each text whose ``obs["key"]`` names no field."""
    found = [(name, reference_problem(text, fields)) for name, text in field_texts(task).items()]
    return [f"{name}: {problem}" for name, problem in found if problem]


def with_columns(text: str, fields: list[ObsField]) -> str:
    """`text` with each ``obs["key"]`` of a field replaced by its columns (others left as they are)."""
    by_key = {f.key: f for f in fields}
    return KEY_REFERENCE.sub(lambda m: by_key[m.group("key")].columns if m.group("key") in by_key else m.group(0),
                             text)


def designer_task(task: "TaskSpec", fields: list[ObsField]) -> "TaskSpec":
    """The task as the designer reads it: fields named in the observation layout (see
    `layout_with_fields`), and ``obs["key"]`` in named state expressions replaced by columns."""
    if not fields:
        return task
    state = {name: entry.model_copy(update={"expression": with_columns(entry.expression, fields)})
             for name, entry in task.context.state.items()}
    context = task.context.model_copy(update={"observation": layout_with_fields(task.context.observation, fields),
                                              "state": state})
    copy = task.model_copy(update={"context": context})
    copy._path = task.path
    return copy


def layout_with_fields(observation: str | None, fields: list[ObsField]) -> str | None:
    """The layout text the designer reads: field references replaced by columns, and a line for
    each field no line describes (the text unchanged when the observation has no fields)."""
    if not fields:
        return observation
    text = with_columns(observation or "", fields)
    covered: set[int] = set()
    for line in text.splitlines():
        match = COLUMNS_LINE.match(line)
        if match:
            first = int(match.group("first"))
            covered.update(range(first, int(match.group("stop") or first + 1)))
    missing = [f for f in fields if not covered & set(range(f.start, f.stop))]
    if not missing:
        return text
    head = text.rstrip() + "\n" if text.strip() else (
        f"The observation has {len(fields)} named fields, flattened into {fields[-1].stop} columns in this order:\n")
    return head + "\n".join(f.layout_line() for f in missing) + "\n"
