"""Structured mode for small models: the LLM fills a reward *spec*, eureka compiles it to code.

A small model writes free-form reward code that runs but rarely works (wrong signs, constant
terms, rewards that pay every step). It is much better at choosing among options. In this mode
it answers with a short JSON list of terms, each a primitive from a fixed vocabulary applied to
a named quantity of the task's observation, decoded under a JSON schema so that every sample is
well-formed. Eureka compiles the spec into an ordinary reward module
(``compute_reward(obs, action, next_obs, terminated)``) that goes through the same critic,
sandbox, training and export as any other candidate.

Nothing here knows any particular task:

- quantities come from the task's own observation layout text (``context.observation``: lines
  such as ``obs[:, 2]: arm angle in radians, in [-0.5, 0.5]``), plus generic derived ones
  (the magnitude of each, the angle atan2(sin X, cos X) where two columns are cos(X), sin(X),
  relations between vector groups and references: see eureka.design.quantities; counts,
  positions and distances in a described grid: eureka.design.blocks), and the task's named
  state (``context.state``: eureka.design.named_state);
- a spec may define one "custom" quantity, a short array expression over obs, next_obs and
  action, admitted by an AST allowlist (eureka.design.custom_expression) and probed on real
  transitions; terms then use it by the name "custom" like any other quantity;
- scales come from the documented ranges and from random-policy transitions, so a "medium"
  weight means about the same on every quantity;
- the compiled module keeps every number as a module-level UPPER_CASE constant, which
  `named_constants` and `with_constants` read and replace (in any reward module).

Example:
    >>> from eureka.envs.base import SpaceInfo
    >>> space = SpaceInfo(obs_dim=2, action_kind="discrete", action_dim=3, array_module="numpy")
    >>> mode = SpecMode.from_layout("obs[:, 0]: height of the ball, in [0, 10]", space)
    >>> [q.name for q in mode.quantities]
    ['height_ball', 'obs_1', 'abs_obs_1']
    >>> reply = '{"ends_on": "time_limit_only", "terms": [{"kind": "keep_small", "quantity": "obs_1", "weight": "small"}]}'
    >>> result = mode.compile_reply(reply)
    >>> result.problems, "W_KEEP_SMALL_OBS_1 = 0.3" in result.code
    ([], True)
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from eureka.design import custom_expression, fences
from eureka.design.quantities import (Calibration, Quantity, _num, _sig, _unique, calibrate,  # noqa: F401
                                      derive_quantities)
from eureka.envs.base import SpaceInfo, Transitions
from eureka.reward import REWARD_FUNCTION

if TYPE_CHECKING:
    from eureka.critic.checks import Critic, CriticVerdict
    from eureka.design.llm.base import GenerationSettings
    from eureka.task import TaskSpec

# ---------------------------------------------------------------------------------------------
# The vocabulary

KINDS = ("progress", "closeness", "in_region", "keep_small", "action_cost", "episode_end", "per_step")
ENDINGS = ("failure", "success", "success_or_failure", "time_limit_only")  # what ends an episode early
COST_KINDS = ("keep_small", "action_cost")  # never positive (and episode_end, when episodes end on failure)
SIGNED_KINDS = ("episode_end", "per_step")  # their sign follows from the ending; only for failure/success
WEIGHTS = {"small": 0.3, "medium": 1.0, "large": 3.0}
WIDTHS = {"narrow": 0.1, "medium": 0.3, "wide": 1.0}  # closeness temperature, times the quantity's scale
DIRECTIONS = ("higher", "lower")
SIDES = ("above", "below")
EPISODE_END_FACTOR = 10.0  # an episode_end term fires once per episode: weigh it like ten steps
MAX_TERMS = 4
CUSTOM = "custom"  # the name terms use for the spec's custom quantity
DEFAULT_GAMMA = 1.0  # of progress terms; see compile_spec
SPEC_MAX_TOKENS = 320  # a spec of four terms is ~150 tokens; room for whitespace the grammar allows

FIELDS: dict[str, tuple[str, ...]] = {  # each kind's fields, in the order the grammar writes them
    "progress": ("kind", "quantity", "toward", "weight"),
    "closeness": ("kind", "quantity", "target", "width", "weight"),
    "in_region": ("kind", "quantity", "where", "threshold", "weight"),
    "keep_small": ("kind", "quantity", "weight"),
    "action_cost": ("kind", "weight"),
    "episode_end": ("kind", "weight"),
    "per_step": ("kind", "weight"),
}


# ---------------------------------------------------------------------------------------------
# Quantities and their calibration: eureka.design.quantities


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class Term:
    kind: str
    weight: str
    quantity: str | None = None
    toward: float | str | None = None  # progress: a target value, "higher" or "lower"
    target: float | None = None  # closeness
    width: str | None = None  # closeness
    where: str | None = None  # in_region: "above" or "below"
    threshold: float | None = None  # in_region

    def to_json(self) -> dict[str, Any]:
        values = {"kind": self.kind, "quantity": self.quantity, "toward": self.toward, "target": self.target,
                  "width": self.width, "where": self.where, "threshold": self.threshold, "weight": self.weight}
        return {k: values[k] for k in FIELDS[self.kind]}

    @property
    def component(self) -> str:
        """The component name (before de-duplication): what reflection shows for this term."""
        if self.kind in ("action_cost", "episode_end", "per_step"):
            return self.kind
        if self.kind == "in_region":
            return f"{self.quantity}_{self.where}"
        return f"{self.kind}_{self.quantity}"


@dataclass(frozen=True)
class Spec:
    ends_on: str
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = field(default=(), compare=False)  # terms dropped as never paying
    custom: str | None = None  # the custom quantity's expression (normalised to np.<function>)

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {"ends_on": self.ends_on}
        if self.custom is not None:
            head[CUSTOM] = self.custom
        return {**head, "terms": [t.to_json() for t in self.terms]}

    def with_terms(self, ends_on: str, terms: tuple[Term, ...]) -> dict[str, Any]:
        """The JSON of a variant with these terms (the custom quantity kept where a term uses it)."""
        head: dict[str, Any] = {"ends_on": ends_on}
        if self.custom is not None and any(t.quantity == CUSTOM for t in terms):
            head[CUSTOM] = self.custom
        return {**head, "terms": [t.to_json() for t in terms]}

    def dumps(self) -> str:
        """Compact JSON, one term per line (what prompts show and the compiled module records)."""
        lines = ",\n  ".join(json.dumps(t.to_json()) for t in self.terms)
        custom = f"{json.dumps(CUSTOM)}: {json.dumps(self.custom)}, " if self.custom is not None else ""
        return f'{{"ends_on": {json.dumps(self.ends_on)}, {custom}"terms": [\n  {lines}\n]}}'


# ---------------------------------------------------------------------------------------------
# Schema and validation


class Vocabulary:
    """What a spec for one task may say: its quantities, the kinds its action space allows."""

    def __init__(self, quantities: list[Quantity], space: SpaceInfo, max_terms: int = MAX_TERMS,
                 semantic_checks: bool = True, transitions: Transitions | None = None) -> None:
        self.quantities = [q for q in quantities if q.name != CUSTOM]
        self.by_name = {q.name: q for q in self.quantities}
        self.transitions = transitions  # real transitions, to probe a custom quantity on
        self.space = space
        self.max_terms = max_terms
        self.semantic_checks = semantic_checks  # False: well-formed specs only (ablations)
        self.kinds = tuple(k for k in KINDS if k != "action_cost" or space.action_kind == "continuous")

    def kinds_for(self, ends_on: str) -> tuple[str, ...]:
        """episode_end and per_step get their sign from a clear ending: failure or success."""
        return self.kinds if ends_on in ("failure", "success") else tuple(k for k in self.kinds
                                                                           if k not in SIGNED_KINDS)

    def schema(self) -> dict[str, Any]:
        """The JSON schema of a spec (for constrained decoding; property order is the output order).

        One alternative per ending, so that a grammar never offers a term the ending rules out,
        and per presence of the custom quantity: a term may name "custom" only in a spec that
        defines it (an optional field let the model skip it and then use it: a run on a task with
        an image observation had 12 of 12 samples refused for that).
        """
        names = [q.name for q in self.quantities]
        fields: dict[str, dict[str, Any]] = {
            "toward": {"anyOf": [{"type": "number"}, {"type": "string", "enum": list(DIRECTIONS)}]},
            "target": {"type": "number"},
            "width": {"type": "string", "enum": list(WIDTHS)},
            "where": {"type": "string", "enum": list(SIDES)},
            "threshold": {"type": "number"},
            "weight": {"type": "string", "enum": list(WEIGHTS)},
        }

        def term(kind: str, custom: bool) -> dict[str, Any] | None:
            properties: dict[str, Any] = {"kind": {"type": "string", "const": kind}}
            for key in FIELDS[kind][1:]:
                if key == "quantity":
                    # a potential needs a value before the step: no per-transition quantity
                    allowed = [q.name for q in self.quantities if not q.per_transition] if kind == "progress" else names
                    allowed = allowed + ([CUSTOM] if custom else [])
                    if not allowed:
                        return None
                    properties[key] = {"type": "string", "enum": allowed}
                else:
                    properties[key] = fields[key]
            return {"type": "object", "properties": properties, "required": list(FIELDS[kind]),
                    "additionalProperties": False}

        def spec(endings: list[str], custom: bool) -> dict[str, Any]:
            items = [t for kind in self.kinds_for(endings[0]) if (t := term(kind, custom)) is not None]
            properties: dict[str, Any] = {"ends_on": {"type": "string", "enum": endings}}
            if custom:
                properties[CUSTOM] = {"type": "string", "minLength": 1, "maxLength": custom_expression.MAX_LENGTH}
            properties["terms"] = {"type": "array", "items": {"anyOf": items}, "minItems": 1,
                                   "maxItems": self.max_terms}
            return {"type": "object", "properties": properties,
                    "required": ["ends_on", CUSTOM, "terms"] if custom else ["ends_on", "terms"],
                    "additionalProperties": False}

        endings = (["failure", "success"], ["success_or_failure", "time_limit_only"])
        return {"anyOf": [spec(e, custom) for custom in (False, True) for e in endings]}

    def validate(self, data: Any) -> tuple[Spec | None, list[str]]:
        """A spec from parsed JSON, or the problems with it as sentences (for a repair prompt).

        Two repairs instead of refusals: a term that repeats an earlier one exactly is dropped, and
        so is an in_region term whose region the quantity is never in (it pays 0 on every step;
        noted in `Spec.notes`).
        """
        if not isinstance(data, dict):
            return None, [f"the spec must be a JSON object {{\"ends_on\": ..., \"terms\": [...]}}; "
                          f"got {type(data).__name__}"]
        problems = [f"unknown top-level field '{k}': the spec has only \"ends_on\", \"custom\" and \"terms\""
                    for k in data if k not in ("ends_on", CUSTOM, "terms")]
        custom, custom_problems = self.custom_quantity(data.get(CUSTOM))
        raw_terms = data.get("terms") if isinstance(data.get("terms"), list) else []
        if custom_problems and not any(isinstance(t, dict) and t.get("quantity") == CUSTOM for t in raw_terms):
            custom_problems = []  # no term uses it: a small model fills the optional field with anything
        problems += custom_problems
        ends_on = data.get("ends_on")
        if ends_on not in ENDINGS:
            problems.append(f"\"ends_on\" must be one of {', '.join(ENDINGS)} (what ends an episode before "
                            f"its time limit); got {json.dumps(ends_on)}")
        terms = data.get("terms")
        if not isinstance(terms, list) or not terms:
            return None, problems + ["the spec needs \"terms\": a list of 1 to "
                                     f"{self.max_terms} term objects"]
        parsed: list[Term] = []
        notes: list[str] = []
        for number, raw in enumerate(terms, 1):
            term, term_problems, note = self._term(number, raw, ends_on if ends_on in ENDINGS else "failure", custom)
            problems.extend(term_problems)
            if note:
                notes.append(note)
            if term is not None and term not in parsed:
                parsed.append(term)
        if notes and not parsed and not problems:
            problems += [n.replace(" was dropped:", ":") for n in notes]
            problems.append("no term is left that ever pays; choose a region the quantity can be in")
        if len(parsed) > self.max_terms:
            problems.append(f"the spec has {len(parsed)} different terms; use at most {self.max_terms}")
        if self.semantic_checks and parsed and all(t.kind == "per_step" for t in parsed):
            problems.append("the only term is per_step, so the reward is the same on every step and the policy "
                            "learns nothing from it; add a term that depends on a quantity")
        if self.semantic_checks and ends_on == "failure" and parsed and all(t.kind in (*COST_KINDS, "episode_end") for t in parsed):
            problems.append("episodes end on failure and every term is a cost, so the policy earns the most by "
                            "failing as early as it can; add per_step (a reward for staying alive) or a term "
                            "that pays")
        if problems:
            return None, problems
        used_custom = custom is not None and any(t.quantity == CUSTOM for t in parsed)
        return Spec(str(ends_on), tuple(parsed), tuple(notes), custom.formula if used_custom else None), []

    def custom_quantity(self, text: Any) -> tuple[Quantity | None, list[str]]:
        """The spec's custom quantity (None when it defines none), or the problems with it."""
        if text is None:
            return None, []
        if not isinstance(text, str):
            return None, [f"\"custom\" must be a string holding one array expression, got {json.dumps(text)[:60]}"]
        parsed = custom_expression.parse(text, self.space.obs_dim)
        if parsed.text is None:
            return None, parsed.problems
        if self.transitions is not None and len(self.transitions):
            problems = custom_expression.probe(parsed, *(np.asarray(getattr(self.transitions, k), dtype=np.float64)
                                                         for k in ("obs", "next_obs", "action")))
            if problems:
                return None, problems
        return Quantity(CUSTOM, f"the custom quantity {parsed.text}", "custom", (), formula=parsed.text,
                        per_transition=parsed.per_transition), []

    def _term(self, number: int, raw: Any, ends_on: str,
              custom: Quantity | None = None) -> tuple[Term | None, list[str], str | None]:
        """The term, its problems, and a note when it was dropped as one that can never pay."""
        by_name = {**self.by_name, CUSTOM: custom} if custom is not None else self.by_name
        where = f"term {number}"
        if not isinstance(raw, dict):
            return None, [f"{where} must be a JSON object, got {json.dumps(raw)[:60]}"], None
        kind = raw.get("kind")
        if kind not in self.kinds_for(ends_on):
            if kind == "action_cost" and kind not in self.kinds:
                hint = " (the actions are discrete: there is no action vector to penalise)"
            elif kind in SIGNED_KINDS and kind in self.kinds:
                hint = (f" (with ends_on {json.dumps(ends_on)} it is unclear whether the end of an episode, or "
                        "a longer episode, is good or bad)")
            else:
                hint = ""
            return None, [f"{where}: kind {json.dumps(kind)} is not available{hint}; "
                          f"use one of {', '.join(self.kinds_for(ends_on))}"], None
        allowed = FIELDS[kind]
        problems = [f"{where} ({kind}): unknown field '{k}' (a {kind} term has {', '.join(allowed)})"
                    for k in raw if k not in allowed]
        problems += [f"{where} ({kind}): missing field '{k}'" for k in allowed if k not in raw]
        if problems:
            return None, problems, None
        quantity = raw.get("quantity")
        if "quantity" in allowed and quantity == CUSTOM and custom is None:
            problems.append(f"{where}: quantity \"custom\" needs the spec's \"custom\" field: one array "
                            "expression over obs, next_obs and action")
        elif "quantity" in allowed and quantity not in by_name:
            close = difflib.get_close_matches(str(quantity), list(by_name), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{where}: unknown quantity {json.dumps(quantity)}{hint}; use a name from the "
                            "quantity table")
        elif kind == "progress" and by_name[quantity].per_transition:
            problems.append(f"{where} (progress): {quantity} is a change over one step, not a value of the "
                            "state, so it has no progress; use closeness, in_region or keep_small on it")
        problems += self._choice(where, raw, "weight", tuple(WEIGHTS))
        if kind == "in_region":
            problems += self._choice(where, raw, "where", SIDES)
        if kind == "closeness":
            problems += self._choice(where, raw, "width", tuple(WIDTHS))
        toward = raw.get("toward")
        if kind == "progress" and not (toward in DIRECTIONS or _is_number(toward)):
            problems.append(f"{where} (progress): \"toward\" must be a number or \"higher\" or \"lower\", "
                            f"got {json.dumps(toward)}")
        for key in ("target", "threshold"):
            if key in allowed and not _is_number(raw.get(key)):
                problems.append(f"{where} ({kind}): \"{key}\" must be a number, got {json.dumps(raw.get(key))}")
        if problems:
            return None, problems, None
        q = by_name.get(quantity) if quantity is not None else None
        value_key = {"progress": "toward", "closeness": "target", "in_region": "threshold"}.get(kind)
        value = raw.get(value_key) if value_key else None
        if q is not None and _is_number(value) and q.low is not None and q.high is not None:
            value = float(value)
            if kind == "in_region" and (value <= q.low if raw["where"] == "below" else value >= q.high):
                # an empty region: the term is 0 on every step, so dropping it changes nothing
                return None, [], (f"{where} was dropped: {q.name} is never {raw['where']} {_num(value)} "
                                  f"(its range is {q.range_text}), so it never paid")
            if not q.low <= value <= q.high:
                effect = ("the region is everywhere, like per_step" if kind == "in_region"
                          else "nothing in the task can get there")
                problems.append(f"{where} ({kind}): {value_key} {_num(value)} is outside the range of "
                                f"{q.name} {q.range_text}: {effect}")
        if problems:
            return None, problems, None
        return Term(
            kind=kind, weight=raw["weight"], quantity=quantity if "quantity" in allowed else None,
            toward=(toward if toward in DIRECTIONS else float(toward)) if kind == "progress" else None,
            target=float(raw["target"]) if kind == "closeness" else None,
            width=raw["width"] if kind == "closeness" else None,
            where=raw["where"] if kind == "in_region" else None,
            threshold=float(raw["threshold"]) if kind == "in_region" else None,
        ), [], None

    @staticmethod
    def _choice(where: str, raw: dict[str, Any], key: str, options: tuple[str, ...]) -> list[str]:
        if raw.get(key) in options:
            return []
        return [f"{where}: \"{key}\" must be one of {', '.join(options)}; got {json.dumps(raw.get(key))}"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_reply(text: str) -> tuple[Any | None, list[str]]:
    """The JSON value of a reply: the whole reply, a ```json block, or the first JSON object in
    the text that has "terms". None and a problem sentence when there is none."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += fences.blocks(text, ("json", ""))
    first_error = None
    for candidate in candidates:
        try:
            return json.loads(candidate), []
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "terms" in value:
            return value, []
    if "{" not in text:
        return None, ["the reply holds no JSON object; answer with the spec as JSON: {\"terms\": [...]}"]
    detail = f": {first_error.msg} at line {first_error.lineno}, column {first_error.colno}" if first_error else ""
    return None, [f"the reply is not valid JSON{detail}; answer with the spec as JSON: {{\"terms\": [...]}}"]


# ---------------------------------------------------------------------------------------------
# The compiler


@dataclass
class _Emitter:
    xp: str
    quantities: dict[str, Quantity]
    calibration: Calibration
    constants: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    computed: set[str] = field(default_factory=set)

    def constant(self, name: str, value: float) -> str:
        self.constants[name] = float(value)
        return name

    def distance(self, name: str, variable: str, target: str) -> str:
        """|variable - target|; for an angle, the short way round (no jump where it wraps)."""
        if self.quantities[name].is_angle:
            xp = self.xp
            return f"{xp}.abs({xp}.arctan2({xp}.sin({variable} - {target}), {xp}.cos({variable} - {target})))"
        return f"{self.xp}.abs({variable} - {target})"

    def quantity(self, name: str, before: bool = False) -> str:
        variable = f"{name}_before" if before else name
        if variable not in self.computed:
            expression = self.quantities[name].expression("obs" if before else "next_obs", self.xp, self.quantities)
            self.lines.append(f"{variable} = {expression}")
            self.computed.add(variable)
        return variable


def compile_spec(spec: Spec, vocabulary: Vocabulary, calibration: Calibration,
                 gamma: float = DEFAULT_GAMMA) -> str:
    """Reward module source for `spec`: numpy or jax.numpy per the space's array module.

    Every number is a module-level constant: ``W_<COMPONENT>`` (positive weights; the sign is in
    the formula), ``TARGET_``, ``THRESHOLD_``, ``T_`` (closeness temperature), ``SCALE_<QUANTITY>``,
    ``STEP_<QUANTITY>``, ``ACTION_SCALE`` and ``GAMMA``.

    A progress term is ``W * (GAMMA * phi(next_obs) - phi(obs))`` with phi the quantity (or minus
    its distance to the target) in units of its typical one-step change. With GAMMA equal to the
    trainer's discount this is exact potential-based shaping, which leaves the optimal policy
    unchanged, and so teaches nothing when it is the only term (small models often write just
    that). The default GAMMA = 1 keeps the step-by-step signal and, under a discount, also pays a
    little for states with a high potential.
    """
    xp = "jnp" if vocabulary.space.array_module == "jax" else "np"
    quantities = dict(vocabulary.by_name)
    if spec.custom is not None:
        custom, problems = vocabulary.custom_quantity(spec.custom)
        assert custom is not None, problems
        quantities[CUSTOM] = custom
        calibration = calibration.including(calibrate([custom], vocabulary.transitions))
    out = _Emitter(xp, quantities, calibration)
    names: set[str] = set()
    components: list[str] = []
    for term in spec.terms:
        component = _unique(term.component, names)
        upper = component.upper()
        q = term.quantity
        if term.kind == "episode_end":
            w = out.constant(f"W_{upper}", WEIGHTS[term.weight] * EPISODE_END_FACTOR)
        else:
            w = out.constant(f"W_{upper}", WEIGHTS[term.weight])
        if term.kind == "progress":
            assert q is not None
            step = out.constant(f"STEP_{q.upper()}", calibration.step[q])
            now, before = out.quantity(q), out.quantity(q, before=True)
            if isinstance(term.toward, str):
                direction = "" if term.toward == "higher" else "-"
                potential = lambda v: f"{direction}{v} / {step}"  # noqa: E731
            else:
                target = out.constant(f"TARGET_{upper}", term.toward)
                potential = lambda v: f"-{out.distance(q, v, target)} / {step}"  # noqa: E731
            out.constant("GAMMA", gamma)
            expression = f"{w} * (GAMMA * ({potential(now)}) - ({potential(before)}))"
        elif term.kind == "closeness":
            assert q is not None and term.width is not None and term.target is not None
            target = out.constant(f"TARGET_{upper}", term.target)
            temperature = out.constant(f"T_{upper}", _sig(WIDTHS[term.width] * calibration.scale[q]))
            expression = f"{w} * {xp}.exp(-{out.distance(q, out.quantity(q), target)} / {temperature})"
        elif term.kind == "in_region":
            assert q is not None and term.threshold is not None
            threshold = out.constant(f"THRESHOLD_{upper}", term.threshold)
            holds = f"({out.quantity(q)} {'>' if term.where == 'above' else '<'} {threshold})"
            expression = f"{w} * {holds}.astype({xp}.float32)"
        elif term.kind == "keep_small":
            assert q is not None
            scale = out.constant(f"SCALE_{q.upper()}", calibration.scale[q])
            expression = f"-{w} * {xp}.square({out.quantity(q)} / {scale})"
        elif term.kind == "action_cost":
            scale = out.constant("ACTION_SCALE", calibration.action_scale)
            expression = (f"-{w} * {xp}.sum({xp}.square({xp}.reshape(action, (action.shape[0], -1)) / {scale}), "
                          "axis=1)")
        elif term.kind == "episode_end":  # the end of an episode is a failure or a success
            sign = "-" if spec.ends_on == "failure" else ""
            expression = f"{sign}{w} * terminated.astype({xp}.float32)"
        else:  # per_step: staying alive pays when episodes end in failure, finishing sooner when in success
            sign = "-" if spec.ends_on == "success" else ""
            expression = f"{sign}{w} * {xp}.ones(next_obs.shape[0], dtype={xp}.float32)"
        out.lines.append(f"{component} = {expression}")
        components.append(component)
    module = "jax.numpy as jnp" if xp == "jnp" else "numpy as np"
    constants = "\n".join(f"{name} = {_literal(value)}" for name, value in out.constants.items())
    body = "\n".join(f"    {line}" for line in out.lines)
    total = " + ".join(components)
    mapping = ", ".join(f'"{c}": {c}' for c in components)
    return (f'"""Reward compiled by eureka from a structured spec (eureka.design.spec).\n\n'
            f"Spec: {json.dumps(spec.to_json())}\n"
            f'"""\n\nimport {module}\n\n{constants}\n\n\n'
            f"def {REWARD_FUNCTION}(obs, action, next_obs, terminated):\n{body}\n"
            f"    total = {total}\n"
            f"    return total, {{{mapping}}}\n")


def _literal(value: float) -> str:
    return repr(float(value))


def spec_of_code(code: str) -> dict[str, Any] | None:
    """The spec a compiled module records in its docstring (None for any other code)."""
    try:
        docstring = ast.get_docstring(ast.parse(code)) or ""
    except SyntaxError:
        return None
    match = re.search(r"^Spec: (\{.*\})$", docstring, re.MULTILINE)
    if not match:
        return None
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return None


# ---------------------------------------------------------------------------------------------
# Named constants, in any reward module

CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _constant_nodes(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        if CONSTANT_NAME.match(name) and _numeric_literal(value) is not None:
            found[name] = value
    return found


def _numeric_literal(node: ast.expr) -> float | None:
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sign * float(node.value)
    return None


def named_constants(code: str) -> dict[str, float]:
    """Module-level ``UPPER_CASE = <number>`` assignments of a reward module, in source order."""
    tree = ast.parse(code)
    return {name: _numeric_literal(node) for name, node in _constant_nodes(tree).items()}  # type: ignore[misc]


def with_constants(code: str, values: dict[str, float]) -> str:
    """`code` with the named module-level constants set to `values` (everything else unchanged).

    Raises KeyError naming any constant the module does not define.
    """
    tree = ast.parse(code)
    nodes = _constant_nodes(tree)
    unknown = sorted(set(values) - set(nodes))
    if unknown:
        raise KeyError(f"no module-level numeric constant named {', '.join(unknown)}")
    lines = code.splitlines(keepends=True)
    edits = sorted(((nodes[name], float(value)) for name, value in values.items()),
                   key=lambda item: (item[0].lineno, item[0].col_offset), reverse=True)
    for node, value in edits:
        if not math.isfinite(value):
            raise ValueError(f"constant value {value} is not finite")
        assert node.end_lineno is not None and node.end_col_offset is not None
        first, last = node.lineno - 1, node.end_lineno - 1
        head = lines[first][:_char_offset(lines[first], node.col_offset)]
        tail = lines[last][_char_offset(lines[last], node.end_col_offset):]
        lines[first:last + 1] = [head + repr(value) + tail]
    return "".join(lines)


def _char_offset(line: str, byte_offset: int) -> int:
    """ast offsets count UTF-8 bytes."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


# ---------------------------------------------------------------------------------------------
# The mode, as the search loop uses it


@dataclass(frozen=True)
class Compiled:
    """A reply turned into a spec and reward code; `code` is None when `problems` says why."""

    spec: Spec | None
    code: str | None
    problems: list[str]


class SpecMode:
    """Everything the search loop needs for one task in structured mode."""

    def __init__(self, quantities: list[Quantity], space: SpaceInfo, transitions: Transitions | None = None,
                 gamma: float = DEFAULT_GAMMA, max_terms: int = MAX_TERMS, semantic_checks: bool = True) -> None:
        self.quantities = quantities
        self.space = space
        self.vocabulary = Vocabulary(quantities, space, max_terms, semantic_checks, transitions)
        self.calibration = calibrate(quantities, transitions)
        self.gamma = gamma
        self.schema = self.vocabulary.schema()

    @classmethod
    def for_task(cls, task: "TaskSpec", space: SpaceInfo, transitions: Transitions | None = None,
                 **options: Any) -> "SpecMode":
        """Quantities from the task's named state and observation layout (options: gamma, max_terms,
        semantic_checks)."""
        from eureka.design.named_state import state_quantities

        named = state_quantities(task.context.state, space.obs_dim)
        derived = derive_quantities(task.context.observation, space.obs_dim, reserved=[q.name for q in named])
        return cls(named + derived, space, transitions, **options)

    @classmethod
    def from_layout(cls, observation: str, space: SpaceInfo, transitions: Transitions | None = None,
                    **options: Any) -> "SpecMode":
        return cls(derive_quantities(observation, space.obs_dim), space, transitions, **options)

    def generation_settings(self, base: "GenerationSettings") -> "GenerationSettings":
        """`base` with this task's JSON schema and a spec-sized token limit."""
        from dataclasses import replace

        return replace(base, json_schema=self.schema, max_tokens=min(base.max_tokens, SPEC_MAX_TOKENS), stop=())

    def compile_reply(self, reply: str) -> Compiled:
        data, problems = parse_reply(reply)
        if data is None:
            return Compiled(None, None, problems)
        spec, problems = self.vocabulary.validate(data)
        if spec is None:
            return Compiled(None, None, problems)
        return Compiled(spec, compile_spec(spec, self.vocabulary, self.calibration, self.gamma), [])

    def check_reply(self, critic: "Critic", reply: str) -> tuple[str | None, "CriticVerdict"]:
        """Like `Critic.check_reply`, for a spec reply: compile it, then the usual critic stages.
        A reply that is no valid spec stops at the "extract" stage with the spec's problems."""
        from eureka.critic.checks import CriticVerdict

        compiled = self.compile_reply(reply)
        if compiled.code is None:
            return None, CriticVerdict("extract", compiled.problems)
        return compiled.code, critic.check_code(compiled.code)

    def spec_of(self, reply_or_code: str) -> Spec | None:
        """The valid spec of a reply or of compiled code; None if it holds none."""
        data = spec_of_code(reply_or_code)
        if data is None:
            data, _ = parse_reply(reply_or_code)
        if data is None:
            return None
        return self.vocabulary.validate(data)[0]

    def spec_text(self, reply_or_code: str) -> str | None:
        """The canonical spec JSON of a reply or of compiled code (for prompts); None if neither."""
        spec = self.spec_of(reply_or_code)
        return spec.dumps() if spec else None
