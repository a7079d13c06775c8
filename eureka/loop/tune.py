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
from typing import Callable

from eureka.rundir.integrity import reward_sha256
from eureka.design.designer import Designed, Emit
from eureka.design.spec import named_constants, with_constants
from eureka.rundir.records import ConstantTuning, EventKind, VariantRow
from eureka.rundir.store import RunStore
from eureka.training.base import TrainOutcome

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


@dataclass
class Tuning:
    outcome: TrainOutcome  # the winner's, under the candidate's id
    record: ConstantTuning
    summary: str  # a paragraph the reflection carries


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def pick_variant(item: Designed, base: TrainOutcome, variants: list[Variant], outcomes: dict[str, TrainOutcome],
                 better: Callable[[float | None, float | None], bool], store: RunStore, emit: Emit) -> Tuning | None:
    """The best of a candidate and its constant variants; a winning variant becomes the candidate
    (its reward.py; the original is kept as reward_as_written.py)."""
    if not variants:
        return None
    rows = [VariantRow(id=item.record.id, label="as written", constants={}, fitness=base.fitness)]
    best_code, best_outcome, best_label = item.code, base, "as written"
    for variant in variants:
        outcome = outcomes.get(variant.id)
        fitness = outcome.fitness if outcome else None
        rows.append(VariantRow(id=variant.id, label=variant.label, constants=variant.constants, fitness=fitness))
        if outcome is not None and better(fitness, best_outcome.fitness):
            best_code, best_outcome, best_label = variant.code, outcome, variant.label
    if best_label != "as written":
        store.write_text(f"{item.record.directory}/reward_as_written.py", item.code or "")
        store.write_text(f"{item.record.directory}/reward.py", best_code or "")
        item.code = best_code
        item.record.reward_sha256 = reward_sha256(best_code or "")
    winner = TrainOutcome(candidate_id=item.record.id, members=best_outcome.members, jobs=base.jobs)
    summary = (f"Constant tuning tried {len(variants)} variants of the named constants: "
               f"{'the reward as written stayed best' if best_label == 'as written' else 'won: ' + best_label} "
               f"(task score {_fmt(winner.fitness)} vs {_fmt(base.fitness)} as written).")
    emit(EventKind.CONSTANTS_TUNED, candidate=item.record.id, winner=best_label, fitness=winner.fitness,
         base_fitness=base.fitness)
    return Tuning(winner, ConstantTuning(winner=best_label, variants=rows), summary)
