"""Quantities of a task for structured mode: named scalars per environment, from the layout text.

Four layers, none of which knows any task:

- columns the layout describes (``obs[:, 2]: arm angle in radians, in [-0.5, 0.5]``), angles
  atan2(sin X, cos X) where two columns are cos(X) and sin(X), and the magnitude of each;
- vector groups: consecutive columns whose descriptions differ only in an axis letter
  (x/y/z or i/j/k), or one line over a small column range (``obs[:, 4:6]: goal position``);
- relations: the length of a group; between two groups of one size and one stated unit, their
  distance, per-axis difference, cosine and dot product; between a quantity and a described reference (a column
  named target, goal, desired, reference, setpoint or commanded) sharing a word with it, their
  difference (wrapped to (-pi, pi] for angles); and the change over one step of each distance
  and reference difference (next minus current);
- blocks: a line over a grid, map view or image whose shape, 0/1 values and channel names the
  layout states gets counts, positions and distances per channel (eureka.design.blocks).

A quantity is an expression over the state (``next_obs`` now, ``obs`` one step before), or,
for a change over the step or a custom expression that reads ``next_obs`` or ``action``, over
the transition ("per_transition": it has no value one step before, so it cannot be a progress
potential).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np

from eureka.design.blocks import Block, block_quantities, parse_block
from eureka.envs.base import Transitions

QuantityKind = Literal["column", "angle", "magnitude", "norm", "distance", "difference", "dot", "cosine",
                       "angle_difference", "change", "custom", "block"]
STATE_VARIABLE = "state"  # the array name a state quantity's expression is evaluated over on the host


@dataclass(frozen=True)
class Quantity:
    """A named scalar per environment.

    columns: the observation columns it reads (for a relation between two groups: the first
    group's columns then the second's); operands: the quantities it is built from (magnitude,
    difference, angle_difference, change); formula: a custom expression (see custom_expression),
    or for a block quantity a template over ``{xp}`` and ``{var}`` (see eureka.design.blocks).
    """

    name: str
    meaning: str
    kind: QuantityKind
    columns: tuple[int, ...]
    low: float | None = None
    high: float | None = None
    base: str | None = None
    operands: tuple["Quantity", ...] = ()
    formula: str = ""
    per_transition: bool = False

    @property
    def range_text(self) -> str:
        if self.low is None or self.high is None:
            return "unbounded"
        return f"[{_num(self.low)}, {_num(self.high)}]"

    @property
    def is_angle(self) -> bool:
        return self.kind in ("angle", "angle_difference")

    @property
    def sources(self) -> frozenset[int]:
        """Every observation column it depends on (for edits that swap related quantities)."""
        found = set(self.columns)
        for operand in self.operands:
            found |= operand.sources
        return frozenset(found)

    def expression(self, var: str, xp: str, bases: object = None) -> str:
        """Source text of this quantity over the state array named `var` (a per-transition
        quantity reads `obs`, `next_obs` and `action` whatever `var` is)."""
        cols = self.columns
        if self.kind == "column":
            return f"{var}[:, {cols[0]}]"
        if self.kind == "angle":
            cos, sin = cols
            return f"{xp}.arctan2({var}[:, {sin}], {var}[:, {cos}])"
        if self.kind == "magnitude":
            return f"{xp}.abs({self.operands[0].expression(var, xp)})"
        if self.kind == "norm":
            return f"{xp}.sqrt({' + '.join(f'{xp}.square({var}[:, {c}])' for c in cols)})"
        half = len(cols) // 2
        pairs = list(zip(cols[:half], cols[half:]))
        if self.kind == "distance":
            return f"{xp}.sqrt({' + '.join(f'{xp}.square({var}[:, {a}] - {var}[:, {b}])' for a, b in pairs)})"
        if self.kind == "dot":
            return f"({' + '.join(f'{var}[:, {a}] * {var}[:, {b}]' for a, b in pairs)})"
        if self.kind == "cosine":
            dot = " + ".join(f"{var}[:, {a}] * {var}[:, {b}]" for a, b in pairs)
            norms = [f"{xp}.sqrt({' + '.join(f'{xp}.square({var}[:, {c}])' for c in side)})"
                     for side in (cols[:half], cols[half:])]
            return f"({dot}) / {xp}.maximum({norms[0]} * {norms[1]}, 1e-8)"
        if self.kind == "difference":
            first, second = (o.expression(var, xp) for o in self.operands)
            return f"({first}) - ({second})"
        if self.kind == "angle_difference":
            first, second = (o.expression(var, xp) for o in self.operands)
            return f"{xp}.arctan2({xp}.sin(({first}) - ({second})), {xp}.cos(({first}) - ({second})))"
        if self.kind == "change":
            base = self.operands[0]
            return f"({base.expression('next_obs', xp)}) - ({base.expression('obs', xp)})"
        if self.kind == "block":
            return f"({self.formula.format(xp=xp, var=var)})"
        from eureka.design.custom_expression import render

        return render(self.formula, xp, var)

    def evaluate(self, state: np.ndarray, before: np.ndarray | None = None,
                 action: np.ndarray | None = None) -> np.ndarray:
        """The quantity on host numpy batches (for calibration): `state` is the state after the
        step; a per-transition quantity also needs `before` (obs) and `action`."""
        namespace = {"__builtins__": {}, "np": np, STATE_VARIABLE: state, "next_obs": state,
                     "obs": before if before is not None else state, "action": action}
        with np.errstate(all="ignore"):
            value = eval(self.expression(STATE_VARIABLE, "np"), namespace)  # noqa: S307 - our own or allowlisted
        return np.asarray(value, dtype=np.float64)

    def on_transitions(self, transitions: Transitions, before: bool = False) -> np.ndarray:
        obs = np.asarray(transitions.obs, dtype=np.float64)
        next_obs = np.asarray(transitions.next_obs, dtype=np.float64)
        action = np.asarray(transitions.action, dtype=np.float64)
        if before:
            return self.evaluate(obs, obs, action)
        return self.evaluate(next_obs, obs, action)


LAYOUT_LINE = re.compile(
    r"^\s*(?:[-*\u2022]\s*)?obs\s*\[\s*(?:(?::|\.\.\.)\s*,\s*)?(?P<first>\d+)(?:\s*:\s*(?P<stop>\d+))?\s*\]"
    r"\s*(?:[:=\u2013\u2014-]\s*)?(?P<text>.*)$")
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d*\s*\*?\s*(?:pi|\u03c0)|[-+]?inf"
RANGE = re.compile(rf"\[\s*(?P<low>{NUMBER})\s*,\s*(?P<high>{NUMBER})\s*\]", re.IGNORECASE)
TRIG = re.compile(r"^\s*(?P<fn>cos|sin)\s*(?:\(\s*(?P<a>[A-Za-z_]\w*)\s*\)|of\s+(?P<b>[A-Za-z_]\w*))", re.IGNORECASE)
NAME_STOP = re.compile(r"\s(?:in|along|measured|relative|from|between|expressed|given)\s|[,;:\[]")
NAME_DROP = {"the", "a", "an", "of", "at", "to", "for", "and", "is", "its", "their", "on", "by", "with"}
NAME_WORDS = 3
MAX_BLOCK_QUANTITIES = 16  # a layout line over more columns is a block (a map view), not scalar quantities
MAX_UNDESCRIBED_DIM = 64  # in larger observations, columns the layout does not describe get no name
MAX_VECTOR = 4  # a layout line over 2..MAX_VECTOR columns names a vector
AXIS = re.compile(r"(?<![A-Za-z0-9_])(?P<axis>[xyzijk])(?![A-Za-z0-9_])")
AXIS_ORDERS = ("xyz", "ijk")
REFERENCE = re.compile(r"\b(?:target|goal|desired|reference|setpoint|commanded)\b", re.IGNORECASE)
ANGULAR = re.compile(r"\b(?:angle|heading|yaw|radians?|bearing)\b", re.IGNORECASE)
UNIT = re.compile(r"\bin\s+(?!\[)(?P<unit>[^\s,;\[\]()]+)")
MAX_RELATIONS = 40  # derived relations offered, at most (a long table drowns a small model)


def _num(value: float) -> str:
    return f"{value:.4g}"


def _parse_number(text: str) -> float:
    text = text.strip().lower().replace("\u03c0", "pi").replace(" ", "")
    if "pi" in text:
        factor = text.replace("*", "").replace("pi", "")
        factor = {"": 1.0, "+": 1.0, "-": -1.0}.get(factor, None) or float(factor)
        return factor * math.pi
    return float(text)


def _slug(text: str) -> str:
    """A short identifier from the first words of a description ("ball height in m" -> ball_height)."""
    trig = TRIG.match(text)
    if trig:  # "cos(x) of ..." is named after the function and its symbol only
        return f"{trig.group('fn').lower()}_{(trig.group('a') or trig.group('b')).lower()}"
    text = re.sub(r"\b(cos|sin|tan|abs|log|exp)\s*\(\s*(\w+)\s*\)", r"\1 \2", text, flags=re.IGNORECASE)
    text = re.sub(r"\([^)]*\)", " ", text)
    head = NAME_STOP.split(f" {text} ", maxsplit=1)[0]
    words = [w for w in re.findall(r"[a-z][a-z0-9_]*", head.lower()) if w not in NAME_DROP]
    return "_".join(words[:NAME_WORDS])


def _finite_range(text: str) -> tuple[float | None, float | None]:
    match = RANGE.search(text)
    if not match:
        return None, None
    try:
        low, high = _parse_number(match.group("low")), _parse_number(match.group("high"))
    except ValueError:
        return None, None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        return None, None
    return low, high


def _identifier(text: str) -> str:
    text = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    text = re.sub(r"_+", "_", text)
    return f"q_{text}" if text[:1].isdigit() else text


def _unique(name: str, used: set[str]) -> str:
    candidate, index = name, 2
    while candidate in used:
        candidate, index = f"{name}_{index}", index + 1
    used.add(candidate)
    return candidate


@dataclass(frozen=True)
class Group:
    """A vector of columns the layout names as one thing (a position, a direction)."""

    name: str
    members: tuple[Quantity, ...]
    axes: str

    @property
    def columns(self) -> tuple[int, ...]:
        return tuple(m.columns[0] for m in self.members)

    @property
    def unit(self) -> str | None:
        """The unit its description states ("in metres"), if any: vectors in different units
        have no distance."""
        match = UNIT.search(self.members[0].meaning)
        return match.group("unit").lower() if match else None

    def bound(self) -> float | None:
        """The largest length the documented ranges allow (None where a member has none)."""
        if any(m.low is None or m.high is None for m in self.members):
            return None
        return math.sqrt(sum(max(abs(m.low), abs(m.high)) ** 2 for m in self.members))  # type: ignore[arg-type]


def _axis_key(text: str) -> tuple[str, str] | None:
    """(axis letter, the description's name without it) for a per-axis column description."""
    head = RANGE.sub(" ", text)
    match = AXIS.search(head)
    if not match:
        return None
    rest = head[:match.start()] + " " + head[match.end():]
    key = _slug(rest)
    return (match.group("axis").lower(), key) if key else None


def _entries(observation: str | None) -> tuple[list[tuple[int, int, str, str]], str]:
    """The layout's ``obs[...]`` lines as (first, stop, the line's text, the text with the indented
    lines under it), and the lines that belong to none (a header, notes)."""
    entries: list[tuple[int, int, str, str]] = []
    free: list[str] = []
    indent = None
    for line in (observation or "").splitlines():
        match = LAYOUT_LINE.match(line)
        depth = len(line) - len(line.lstrip())
        if match:
            first = int(match.group("first"))
            stop = int(match.group("stop")) if match.group("stop") else first + 1
            text = match.group("text").strip()
            entries.append((first, stop, text, text))
            indent = depth
        elif line.strip() and indent is not None and depth > indent:
            first, stop, text, detail = entries[-1]
            entries[-1] = (first, stop, text, f"{detail}\n{line.strip()}")
        else:
            indent = None
            if line.strip():
                free.append(line.strip())
    return entries, "\n".join(free)


def derive_quantities(observation: str | None, obs_dim: int, reserved: Iterable[str] = ()) -> list[Quantity]:
    """Named quantities of a task, from its observation layout text (one line per column).

    Columns the text does not describe are named ``obs_<i>`` (in observations of up to
    MAX_UNDESCRIBED_DIM columns); a line whose text states a grid (its shape, 0/1 values and
    channel names) gets the quantities of eureka.design.blocks instead of scalars, and any other
    line over more than MAX_BLOCK_QUANTITIES columns (a map view, an image) none; lines naming columns beyond
    `obs_dim` are ignored, so no quantity can read outside the observation. `reserved`: names
    already taken (the task's named state).
    """
    described: dict[int, tuple[str, str]] = {}  # column -> (slug, description)
    blocks: set[int] = set()
    grids: list[Block] = []
    ranged: list[tuple[str, tuple[int, ...]]] = []  # lines over a small column range: (slug, columns)
    entries, free_text = _entries(observation)
    for first, stop, text, detail in entries:
        if MAX_VECTOR < stop - first and stop <= obs_dim:
            block = parse_block(first, stop, detail, free_text)
            if block is not None:
                grids.append(block)
                blocks.update(range(first, stop))
                continue
        if stop - first > MAX_BLOCK_QUANTITIES:
            blocks.update(range(first, min(stop, obs_dim)))
            continue
        slug = _slug(text)
        span = tuple(range(first, min(stop, obs_dim)))
        if 2 <= len(span) <= MAX_VECTOR:
            ranged.append((slug or "vector", span))
        for offset, column in enumerate(span):
            if column not in described:
                name = slug if stop - first == 1 else f"{slug or 'obs'}_{offset}"
                described[column] = (name, text)
    used: set[str] = set(reserved)
    columns: list[Quantity] = []
    for column in range(obs_dim):
        if column in blocks or (column not in described and obs_dim > MAX_UNDESCRIBED_DIM):
            continue
        slug, text = described.get(column, ("", ""))
        name = _unique(_identifier(slug) or f"obs_{column}", used)
        low, high = _finite_range(text)
        meaning = text or f"observation column {column} (not described)"
        columns.append(Quantity(name, meaning, "column", (column,), low, high))
    angles: list[Quantity] = []
    trig: dict[str, dict[str, Quantity]] = {}
    for quantity in columns:
        match = TRIG.match(quantity.meaning)
        if match:
            symbol = match.group("a") or match.group("b")
            trig.setdefault(symbol, {})[match.group("fn").lower()] = quantity
    paired: set[str] = set()
    for symbol, pair in trig.items():
        if "cos" not in pair or "sin" not in pair:
            continue
        cos, sin = pair["cos"], pair["sin"]
        paired.update((cos.name, sin.name))
        notes = TRIG.sub("", cos.meaning).strip(" ,;")
        notes = RANGE.sub("", notes).replace("in ,", "").strip(" ,;")
        notes = re.sub(r"^in\b[\s;,]*", "", notes).strip(" ,;")
        meaning = f"the angle {symbol} in radians, atan2({sin.name}, {cos.name})" + (f"; {notes}" if notes else "")
        name = _unique(_identifier(symbol.lower()) or "angle", used)
        angles.append(Quantity(name, meaning, "angle", (cos.columns[0], sin.columns[0]), -math.pi, math.pi))
    magnitudes: list[Quantity] = []
    for quantity in columns + angles:
        if quantity.name in paired or (quantity.low is not None and quantity.low >= 0):
            continue
        high = None if quantity.low is None or quantity.high is None else max(abs(quantity.low), abs(quantity.high))
        magnitudes.append(Quantity(_unique(f"abs_{quantity.name}", used), f"the absolute value of {quantity.name}",
                                   "magnitude", quantity.columns, 0.0 if high is not None else None, high,
                                   base=quantity.name, operands=(quantity,)))
    groups = _groups(columns, ranged, used)
    relations = _relations(columns, angles, groups, paired, used)
    derived = [q for block in grids for q in block_quantities(block, used)]
    return columns + angles + magnitudes + relations + derived


def _groups(columns: list[Quantity], ranged: list[tuple[str, tuple[int, ...]]], used: set[str]) -> list[Group]:
    by_column = {q.columns[0]: q for q in columns}
    groups: list[Group] = []
    taken: set[int] = set()
    for slug, span in ranged:
        members = tuple(by_column[c] for c in span if c in by_column)
        if len(members) == len(span) and not taken & set(span):
            taken.update(span)
            axes = "".join(map(str, range(len(span))))
            groups.append(Group(_identifier(slug) or "vector", members, axes))
    keyed = [(q, _axis_key(q.meaning)) for q in columns]
    index = 0
    while index < len(keyed):
        quantity, key = keyed[index]
        run = [quantity]
        if key is not None:
            for order in AXIS_ORDERS:
                if key[0] != order[0]:
                    continue
                for step, axis in enumerate(order[1:], 1):
                    if index + step >= len(keyed):
                        break
                    other, other_key = keyed[index + step]
                    if other_key != (axis, key[1]) or other.columns[0] != quantity.columns[0] + step:
                        break
                    run.append(other)
        if len(run) >= 2 and not taken & {q.columns[0] for q in run}:
            taken.update(q.columns[0] for q in run)
            groups.append(Group(_identifier(key[1]), tuple(run), AXIS_ORDERS[0 if key[0] == "x" else 1][:len(run)]))  # type: ignore[index]
            index += len(run)
        else:
            index += 1
    named: list[Group] = []
    for group in groups:  # group names share the quantity namespace
        named.append(Group(_unique(group.name, used), group.members, group.axes))
    return named


def _relations(columns: list[Quantity], angles: list[Quantity], groups: list[Group], paired: set[str],
               used: set[str]) -> list[Quantity]:
    found: list[Quantity] = []

    def add(name: str, *args, **kwargs) -> Quantity:
        quantity = Quantity(_unique(name, used), *args, **kwargs)
        found.append(quantity)
        return quantity

    changing: list[Quantity] = []
    for group in groups:
        bound = group.bound()
        names = ", ".join(m.name for m in group.members)
        changing.append(add(f"norm_{group.name}", f"the length of the vector {group.name} ({names})", "norm",
                            group.columns, 0.0 if bound else None, bound))
    for position, first in enumerate(groups):
        for second in groups[position + 1:]:
            if len(first.members) != len(second.members) or first.unit != second.unit:
                continue
            both = first.columns + second.columns
            bounds = (first.bound(), second.bound())
            reach = bounds[0] + bounds[1] if None not in bounds else None  # type: ignore[operator]
            changing.append(add(f"distance_{first.name}_{second.name}",
                                f"the distance between {first.name} and {second.name} (norm of their difference)",
                                "distance", both, 0.0 if reach else None, reach))
            for axis, a, b in zip(first.axes, first.members, second.members):
                low = high = None
                if None not in (a.low, a.high, b.low, b.high):
                    low, high = a.low - b.high, a.high - b.low  # type: ignore[operator]
                add(f"{first.name}_minus_{second.name}_{axis}",
                    f"{a.name} minus {b.name}", "difference", (), low, high, operands=(a, b))
            add(f"cosine_{first.name}_{second.name}",
                f"the cosine of the angle between {first.name} and {second.name}, 1 when they point the same way",
                "cosine", both, -1.0, 1.0)
            add(f"dot_{first.name}_{second.name}", f"the dot product of {first.name} and {second.name}", "dot", both)
    grouped = {m.columns[0] for g in groups for m in g.members}
    scalars = [q for q in columns if q.columns[0] not in grouped and q.name not in paired] + angles
    references = [q for q in scalars if REFERENCE.search(q.meaning)]
    for reference in references:
        words = set(reference.name.split("_")) - {w.lower() for w in REFERENCE.findall(reference.meaning)}
        for other in scalars:
            described = set(other.name.split("_")) | set(re.findall(r"[a-z0-9]+", other.meaning.lower()))
            if other is reference or other in references or not words & described:
                continue
            angular = (other.is_angle or ANGULAR.search(other.meaning)) and (
                reference.is_angle or ANGULAR.search(reference.meaning))
            if angular:
                error = add(f"{other.name}_minus_{reference.name}",
                            f"{other.name} minus {reference.name}, wrapped to (-pi, pi]",
                            "angle_difference", (), -math.pi, math.pi, operands=(other, reference))
            else:
                low = high = None
                if None not in (other.low, other.high, reference.low, reference.high):
                    low, high = other.low - reference.high, other.high - reference.low  # type: ignore[operator]
                error = add(f"{other.name}_minus_{reference.name}", f"{other.name} minus {reference.name}",
                            "difference", (), low, high, operands=(other, reference))
            changing.append(error)
            # how far from the reference, whichever side: what "reach and hold the target" is about
            bound = None if error.low is None or error.high is None else max(abs(error.low), abs(error.high))
            add(f"abs_{error.name}", f"the absolute value of {error.name}: how far {other.name} is from "
                f"{reference.name}", "magnitude", (), 0.0 if bound is not None else None, bound,
                base=error.name, operands=(error,))
    for quantity in changing:
        if quantity.kind == "norm":  # the change of a length is mostly a speed the layout already names
            continue
        add(f"change_{quantity.name}", f"the change of {quantity.name} over the step (next minus current)",
                "change", (), operands=(quantity,), per_transition=True)
    return found[:MAX_RELATIONS]


# ---------------------------------------------------------------------------------------------
# Calibration: what "one unit" of each quantity is


@dataclass(frozen=True)
class Calibration:
    """Per quantity: `scale` (a typical magnitude; the documented half-range where there is one)
    and `step` (a typical change in one step, from random-policy transitions); the action scale."""

    scale: dict[str, float]
    step: dict[str, float]
    action_scale: float = 1.0

    def including(self, other: "Calibration") -> "Calibration":
        return Calibration({**self.scale, **other.scale}, {**self.step, **other.step}, self.action_scale)


def _sig(value: float) -> float:
    return float(f"{value:.3g}")


def calibrate(quantities: list[Quantity], transitions: Transitions | None = None) -> Calibration:
    scale: dict[str, float] = {}
    step: dict[str, float] = {}
    have = transitions is not None and len(transitions) > 0
    for q in quantities:
        source = q.operands[0] if q.kind == "magnitude" and q.operands else q
        value = None
        if source.low is not None and source.high is not None:
            value = (source.high - source.low) / 2.0
        elif have:
            values = source.on_transitions(transitions)  # type: ignore[arg-type]
            values = values[np.isfinite(values)] if values.ndim == 1 else np.zeros(0)
            if values.size:
                value = float(np.percentile(values, 95) - np.percentile(values, 5)) / 2.0
            if q.per_transition and values.size and not value:
                value = float(np.percentile(np.abs(values), 95))
        scale[q.name] = _sig(value) if value and math.isfinite(value) and value > 0 else 1.0
        delta = None
        if have and not q.per_transition:
            change = np.abs(q.on_transitions(transitions) - q.on_transitions(transitions, before=True))  # type: ignore[arg-type]
            change = change[np.isfinite(change)] if change.ndim == 1 else np.zeros(0)
            if q.kind in ("angle", "magnitude", "angle_difference"):
                change = change[change < math.pi]  # a wrap of the angle is not a step
            if change.size:
                delta = float(np.median(change)) or float(np.mean(change))
        step[q.name] = _sig(delta) if delta and math.isfinite(delta) and delta > 0 else _sig(scale[q.name] / 20.0)
    action_scale = 1.0
    if have and np.issubdtype(np.asarray(transitions.action).dtype, np.floating):  # type: ignore[union-attr]
        magnitude = float(np.percentile(np.abs(transitions.action), 95))  # type: ignore[union-attr]
        action_scale = _sig(magnitude) if magnitude > 0 and math.isfinite(magnitude) else 1.0
    return Calibration(scale, step, action_scale)
