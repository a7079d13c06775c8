"""Edits: one-step variants of a reward spec (eureka.design.spec).

A small model copies well and chooses well but edits badly, so eureka makes the edits itself:
`edits` offers ready-made ones for the model to choose among in a reflection prompt, and
`structural_edits` picks the ones the search trains beside the model's own children, and
`scale_edits` the weights and widths a run tunes at its end where the trainer does not. Each edit
changes one thing: the ending, a weight, a direction, a side (or the end of a quantity's range
a term pays for), a width, how a term pays for its quantity, the quantity, which terms stay, or
adds a term. Nothing here knows any task: the options follow from the spec and the vocabulary
(quantity kinds, columns and ranges).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace

from eureka.design.quantities import Quantity
from eureka.design.spec import ENDINGS, SIGNED_KINDS, WEIGHTS, WIDTHS, Spec, Term, Vocabulary


@dataclass(frozen=True)
class Edit:
    description: str
    spec: Spec


Option = tuple[str, str, tuple[Term, ...]]  # (description, ends_on, terms)
EditOptions = dict[str, list[Option]]  # kind of edit -> its options
# what constant tuning cannot reach, most useful first
STRUCTURAL_EDITS = ("flip", "reshape", "quantity", "keep", "drop", "ending", "add")
# the scales of a spec: the levels of the constants that constant tuning scales (x0.3, x3)
SCALE_EDITS = ("weight", "width")
# when the fitness cannot tell several specs apart (all at the sparse reward's level, say), which
# of their terms carries the signal is unknown: their edits isolate terms first
ISOLATING_EDITS = ("keep", "drop", "reshape", "flip", "quantity", "ending", "add")
ORDERED = ("keep", "drop")  # relations kept first, dropped last; the other kinds of edit in random order
MAX_RELATED = 6  # swaps offered per term: the closest relations first
END_OF_RANGE = 0.1  # a goal this close to an end of its quantity's range (a share of the range) is that end


def edits(spec: Spec, vocabulary: Vocabulary, count: int, seed: int = 0) -> list[Edit]:
    """Up to `count` valid one-step variants of `spec`, drawn at random (same seed, same draw)."""
    rng = random.Random(seed)
    queues = [rng.sample(options, len(options)) for _, options in sorted(_edit_options(spec, vocabulary).items())]
    rng.shuffle(queues)
    return _valid_edits(spec, vocabulary, queues, count)


def structural_edits(spec: Spec, vocabulary: Vocabulary, count: int, seed: int = 0,
                     isolate: bool = False) -> list[Edit]:
    """Up to `count` one-step variants of `spec` that change its structure, not its scales
    (constant tuning covers weights and widths): by default a flipped direction or side first,
    then another way to pay for a term's quantity, another quantity, one term kept alone, a
    dropped term, another ending, an added term; one of each before a second of any. With
    `isolate`, keeping one term alone and dropping one come first. Terms on relations (reading
    more columns) are kept first and dropped last.

    The search trains these beside the model's own children: a small model picks the edit that
    fixes a wrong sign rarely (measured: it chose a weight change three times out of three).
    """
    rng = random.Random(seed)
    options = _edit_options(spec, vocabulary)
    order = ISOLATING_EDITS if isolate else STRUCTURAL_EDITS
    queues = [options[c] if c in ORDERED else rng.sample(options[c], len(options[c]))
              for c in order if options.get(c)]
    return _valid_edits(spec, vocabulary, queues, count)


def scale_edits(spec: Spec, vocabulary: Vocabulary, count: int, seed: int = 0) -> list[Edit]:
    """Up to `count` variants of `spec` that change one term's weight or one closeness width by a
    level (the x0.3 and x3 of constant tuning: WEIGHTS and WIDTHS step by about that), in a seeded
    order, weights and widths taking turns. A spec of one term gets no weight change: that only
    scales the whole reward."""
    rng = random.Random(seed)
    options = _edit_options(spec, vocabulary)
    if len(spec.terms) < 2:
        options.pop("weight", None)
    queues = [rng.sample(options[c], len(options[c])) for c in SCALE_EDITS if options.get(c)]
    return _valid_edits(spec, vocabulary, queues, count)


def _valid_edits(spec: Spec, vocabulary: Vocabulary, queues: list[list[Option]], count: int) -> list[Edit]:
    """Round-robin over the queues (one of each kind of edit before a second of any), keeping
    valid specs that differ from `spec` and from each other."""
    interleaved = [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]
    chosen: list[Edit] = []
    seen = {json.dumps(spec.to_json())}
    for description, ending, terms in interleaved:
        variant, _ = vocabulary.validate(spec.with_terms(ending, terms))
        key = json.dumps(variant.to_json()) if variant else ""
        if variant is None or key in seen:
            continue
        seen.add(key)
        chosen.append(Edit(description, variant))
        if len(chosen) == count:
            break
    return chosen


def _edit_options(spec: Spec, vocabulary: Vocabulary) -> EditOptions:
    candidates: EditOptions = {}

    def offer(category: str, description: str, ending: str, terms: tuple[Term, ...]) -> None:
        candidates.setdefault(category, []).append((description, ending, terms))

    related = _related_quantities(vocabulary)
    signed = any(t.kind in SIGNED_KINDS for t in spec.terms)
    for ending in ENDINGS:
        kept = tuple(t for t in spec.terms if t.kind in vocabulary.kinds_for(ending))
        # the ending only changes the reward through the terms whose sign follows from it
        if ending != spec.ends_on and (signed or kept != spec.terms):
            offer("ending", f'ends_on "{ending}" instead of "{spec.ends_on}"', ending, kept)
    for index, term in enumerate(spec.terms):
        label = f"term {index + 1} ({term.component})"
        for category, description, new in _term_variants(term, vocabulary, related):
            offer(category, f"{label}: {description}", spec.ends_on,
                  spec.terms[:index] + (new,) + spec.terms[index + 1:])
    if len(spec.terms) > 1:
        for index, term in reversed(_relations_first(spec, vocabulary)):
            label = f"term {index + 1} ({term.component})"
            offer("drop", f"drop {label}", spec.ends_on, spec.terms[:index] + spec.terms[index + 1:])
    if len(spec.terms) > 2:  # with two terms, keeping one is dropping the other
        for index, term in _relations_first(spec, vocabulary):
            if term.quantity is not None:
                offer("keep", f"keep only term {index + 1} ({term.component})", spec.ends_on, (term,))
    if len(spec.terms) < vocabulary.max_terms:
        additions = [Term(kind, "medium") for kind in ("per_step", "episode_end", "action_cost")]
        for q in vocabulary.quantities:
            additions += [Term("keep_small", "medium", quantity=q.name),
                          Term("progress", "medium", quantity=q.name, toward="higher"),
                          Term("progress", "medium", quantity=q.name, toward="lower")]
        for term in additions:
            offer("add", f"add {json.dumps(term.to_json())}", spec.ends_on, spec.terms + (term,))
    return candidates


def _term_variants(term: Term, vocabulary: Vocabulary, related: dict[str, list[str]]) -> list[tuple[str, str, Term]]:
    """(category, description, new term) for one term: its weight, direction, side, width, how it
    pays for its quantity, and its quantity."""
    found: list[tuple[str, str, Term]] = []
    found += [("weight", f"weight {level} instead of {term.weight}", replace(term, weight=level))
              for level in WEIGHTS if level != term.weight]
    if term.kind == "progress" and isinstance(term.toward, str):
        other = "lower" if term.toward == "higher" else "higher"
        found.append(("flip", f"toward {other} instead of {term.toward}", replace(term, toward=other)))
    if term.kind == "in_region":
        other = "below" if term.where == "above" else "above"
        found.append(("flip", f"where {other} instead of {term.where}", replace(term, where=other)))
    if term.kind == "closeness":
        found += [("width", f"width {width} instead of {term.width}", replace(term, width=width))
                  for width in WIDTHS if width != term.width]
    if term.quantity is None or term.quantity not in vocabulary.by_name:
        return found
    q = vocabulary.by_name[term.quantity]
    found += _opposite_end(term, q)
    found += [("reshape", description, new) for description, new in _reshaped(term, q)]
    if term.kind == "progress":  # keep_small squares its quantity: x and abs_x are the same cost
        magnitude_of = {m.base: m.name for m in vocabulary.quantities if m.kind == "magnitude"}
        base_of = {m.name: m.base for m in vocabulary.quantities if m.kind == "magnitude"}
        other_q = magnitude_of.get(term.quantity) or base_of.get(term.quantity)
        if other_q:
            found.append(("quantity", f"quantity {other_q} instead of {term.quantity}", replace(term, quantity=other_q)))
    for other_q in related.get(term.quantity, ()):
        if term.kind in ("progress", "closeness") and vocabulary.by_name[other_q].per_transition:
            continue
        found.append(("quantity", f"quantity {other_q} instead of {term.quantity}", replace(term, quantity=other_q)))
    return found


def _goal(term: Term, q: Quantity) -> float | str | None:
    """Where `term` pays most for its quantity: a value, or "lower"/"higher" for an end of the
    quantity's range (a value near an end counts as that end)."""
    goal: float | str | None = {"progress": term.toward, "closeness": term.target, "keep_small": 0.0,
                                "in_region": "lower" if term.where == "below" else "higher"}.get(term.kind)
    if isinstance(goal, float) and q.low is not None and q.high is not None and q.high > q.low:
        margin = END_OF_RANGE * (q.high - q.low)
        if goal <= q.low + margin:
            return "lower"
        if goal >= q.high - margin:
            return "higher"
    return goal


def _opposite_end(term: Term, q: Quantity) -> list[tuple[str, str, Term]]:
    """The flip of a term whose goal is an end of its quantity's range (closeness to a distance's
    lowest value, keep_small on a magnitude): progress toward the other end. Such a term pays for
    staying put, and a small model often asks for rest where the task needs motion."""
    if term.kind not in ("closeness", "keep_small") or q.per_transition:
        return []
    goal = _goal(term, q)
    if goal not in ("lower", "higher"):
        return []
    other = "higher" if goal == "lower" else "lower"
    return [("flip", f"progress toward {other} instead of {term.kind} at the {goal} end",
             Term("progress", term.weight, quantity=term.quantity, toward=other))]


def _reshaped(term: Term, q: Quantity) -> list[tuple[str, Term]]:
    """The same goal for the same quantity, paid another way: progress toward it (a signal on
    every step that moves closer), closeness to it (paid for being near), or keep_small when the
    goal is zero. Which of these trains best differs from task to task, and a small model keeps
    the one it wrote first."""
    goal = _goal(term, q)
    if goal is None:
        return []
    end = {"lower": q.low, "higher": q.high}
    value = end.get(goal) if isinstance(goal, str) else goal
    variants: list[tuple[str, Term]] = []
    if term.kind != "progress" and not q.per_transition:
        variants.append((f"progress toward {json.dumps(goal)} instead of {term.kind}",
                         Term("progress", term.weight, quantity=term.quantity, toward=goal)))
    if term.kind != "closeness" and value is not None:
        variants.append((f"closeness to {value:g} instead of {term.kind}",
                         Term("closeness", term.weight, quantity=term.quantity, target=float(value), width="medium")))
    if term.kind != "keep_small" and value == 0:
        variants.append((f"keep_small instead of {term.kind}", Term("keep_small", term.weight, quantity=term.quantity)))
    return variants


def _relations_first(spec: Spec, vocabulary: Vocabulary) -> list[tuple[int, Term]]:
    """The spec's terms with their indices, those reading more observation columns (a relation
    between two things before a single coordinate, before a term on no quantity) first."""
    def columns(term: Term) -> int:
        q = vocabulary.by_name.get(term.quantity or "")
        return len(q.sources) if q is not None else 0

    return sorted(enumerate(spec.terms), key=lambda item: (-columns(item[1]), item[0]))


def _related_quantities(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Per quantity, the relations that read some of its columns and the columns of a relation it
    reads: from four terms on single coordinates to the one distance between the two positions,
    and from a distance to its change over the step (or back)."""
    def is_relation(q: Quantity) -> bool:
        if q.kind == "magnitude":  # the size of a relation (how far from a reference) is one too
            return bool(q.operands) and is_relation(q.operands[0])
        return q.kind not in ("column", "angle")

    relations = [q for q in vocabulary.quantities if is_relation(q)]
    related: dict[str, list[str]] = {}
    for q in vocabulary.quantities:
        if not q.sources or (q.kind == "magnitude" and is_relation(q)):
            continue
        near = [r for r in relations if r.name != q.name and q.sources & r.sources and r.base != q.name]
        # a relation about this quantity (reading all its columns) before one that merely touches
        # it (the distance of two positions, not the length of one, for their per-axis difference),
        # then fewest extra columns first; for a magnitude (abs_x), the magnitude of a relation (how far x is from its reference)
        near.sort(key=lambda r: (not q.sources <= r.sources, len(r.sources - q.sources),
                                 (r.kind == "magnitude") != (q.kind == "magnitude"), r.kind != "distance", r.name))
        related[q.name] = [r.name for r in near[:MAX_RELATED]]
    return related
