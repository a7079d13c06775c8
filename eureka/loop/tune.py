"""Constant tuning: the LLM writes a reward's structure, the trainer tries its scales.

A candidate's module-level weights and temperatures (``W_PROGRESS = 1.0``,
``T_CLOSENESS = 0.5``: numbers bound to names starting with W_ or T_, as the prompts ask)
are varied: each variant scales one of them down or up, as is GAMMA in a compiled spec (how
much progress terms also pay for the state itself). Other constants (a threshold, a target,
the track's geometry) are structure, not scale, and stay as written. The variants train beside the candidate in the same generation (in the same compiled
program on the jax backend) and the best of them stands for the candidate, so a reward
with the right structure but wrong scales still wins. Lower-case constants and numbers
inside the function are left alone: they often encode the task's geometry, not a weight.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from eureka.design.spec import named_constants, with_constants

SCALES = (0.3, 3.0)
TUNABLE = re.compile(r"^([WT]_[A-Z0-9_]+|GAMMA)$")


@dataclass(frozen=True)
class Variant:
    id: str
    code: str
    constants: dict[str, float]  # only the changed ones
    label: str


def variants_of(candidate_id: str, code: str, count: int) -> list[Variant]:
    """Up to `count` one-constant variants of `code` (a seeded choice when there are more)."""
    if count <= 0:
        return []
    try:
        constants = named_constants(code)
    except SyntaxError:
        return []
    options = [(name, scale) for name, value in constants.items()
               if value != 0 and TUNABLE.match(name) for scale in SCALES]
    # GAMMA acts on every progress term at once: try it first, then a seeded choice of the rest.
    first = [o for o in options if o[0] == "GAMMA"][:count]
    rest = [o for o in options if o[0] != "GAMMA"]
    if len(first) + len(rest) > count:
        rest = random.Random(candidate_id).sample(rest, count - len(first))
    options = first + rest
    out = []
    for k, (name, scale) in enumerate(options):
        value = constants[name] * scale
        out.append(Variant(f"{candidate_id}~t{k}", with_constants(code, {name: value}), {name: value},
                           f"{name} x{scale:g} ({constants[name]:g} -> {value:g})"))
    return out
