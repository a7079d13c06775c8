"""Relations between quantities and the custom quantity, on test tasks of our own (tests/data/tasks:
point_goal, escort, heading; none shipped) whose rewards need a relation."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eureka.design import custom_expression
from eureka.design.edits import scale_edits, structural_edits
from eureka.design.spec import SpecMode, Spec, Term
from eureka.envs.base import SpaceInfo
from eureka.envs.gymnasium_backend import sample_transitions, space_info
from eureka.reward import load_reward
from eureka.task import load_task

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tests" / "data" / "tasks"
RELATIONAL = ("point_goal", "escort", "heading")


@pytest.fixture(scope="module")
def relational() -> dict[str, tuple]:
    out = {}
    for name in RELATIONAL:
        task = load_task(TASKS / f"{name}.yaml")
        space = space_info(task.env)
        out[name] = (task, space, sample_transitions(task.env, count=256, seed=0))
    return out


def load_reward_source(code: str):
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="relations-"))
    (folder / "reward.py").write_text(code)
    return load_reward(folder / "reward.py")


def run(code: str, transitions) -> tuple[np.ndarray, dict]:
    reward = load_reward_source(code)
    return reward(transitions.obs, transitions.action, transitions.next_obs, transitions.terminated)


def hypot(array: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
    return np.hypot(array[:, a[0]] - array[:, b[0]], array[:, a[1]] - array[:, b[1]])


NEEDED = {  # task -> (the relation its reward needs, its kind, columns of the two vectors or None)
    "point_goal": ("distance_position_point_position_goal", "distance"),
    "escort": ("distance_escort_position_beacon_position", "distance"),
    "heading": ("psi_minus_target_heading", "angle_difference"),
}


@pytest.mark.parametrize("name", RELATIONAL)
def test_the_vocabulary_of_each_relational_task_offers_the_relation_its_reward_needs(relational, name):
    task, space, transitions = relational[name]
    mode = SpecMode.for_task(task, space, transitions)
    quantity, kind = NEEDED[name]
    assert mode.vocabulary.by_name[quantity].kind == kind
    assert quantity in json.dumps(mode.schema)
    assert f"change_{quantity}" in mode.vocabulary.by_name  # its change over the step, too
    # the relation has a scale and a step from the calibration, like a column
    assert mode.calibration.scale[quantity] > 0 and mode.calibration.step[quantity] > 0


def test_vectors_in_different_units_have_no_distance(relational):
    task, space, _ = relational["point_goal"]
    names = {q.name for q in SpecMode.for_task(task, space).quantities}
    assert "norm_speed_point" in names and "distance_position_point_position_goal" in names
    assert not any(n.startswith("distance_") and "speed" in n for n in names)


def test_a_relation_compiles_to_numpy_and_means_what_it_says(relational):
    task, space, transitions = relational["point_goal"]
    mode = SpecMode.for_task(task, space, transitions)
    reply = {"ends_on": "time_limit_only", "terms": [
        {"kind": "progress", "quantity": "distance_position_point_position_goal", "toward": "lower", "weight": "medium"},
        {"kind": "keep_small", "quantity": "change_distance_position_point_position_goal", "weight": "small"},
        {"kind": "closeness", "quantity": "position_point_minus_position_goal_x", "target": 0, "width": "narrow",
         "weight": "small"},
        {"kind": "in_region", "quantity": "cosine_position_point_position_goal", "where": "above", "threshold": 0.5,
         "weight": "small"}]}
    compiled = mode.compile_reply(json.dumps(reply))
    assert compiled.problems == [] and compiled.code is not None
    total, parts = run(compiled.code, transitions)
    assert total.shape == (len(transitions),) and np.all(np.isfinite(total))
    after, before = hypot(transitions.next_obs, (0, 1), (4, 5)), hypot(transitions.obs, (0, 1), (4, 5))
    step = mode.calibration.step["distance_position_point_position_goal"]
    expected = 1.0 * (-after / step + before / step)
    np.testing.assert_allclose(parts["progress_distance_position_point_position_goal"], expected, rtol=1e-4, atol=1e-4)
    change_scale = mode.calibration.scale["change_distance_position_point_position_goal"]
    np.testing.assert_allclose(parts["keep_small_change_distance_position_point_position_goal"],
                               -0.3 * np.square((after - before) / change_scale), rtol=1e-4, atol=1e-5)


def test_a_wrapped_angle_difference_takes_the_short_way_round(relational):
    task, space, transitions = relational["heading"]
    mode = SpecMode.for_task(task, space, transitions)
    error = mode.vocabulary.by_name["psi_minus_target_heading"]
    obs = np.array([[math.cos(3.0), math.sin(3.0), 0.0, -3.0]])
    assert error.evaluate(obs)[0] == pytest.approx(6.0 - 2 * math.pi)


def test_relations_and_a_custom_quantity_trace_under_jax(relational):
    jax = pytest.importorskip("jax")
    task, numpy_space, transitions = relational["escort"]
    space = SpaceInfo(numpy_space.obs_dim, "continuous", numpy_space.action_dim, "jax")
    reply = {"ends_on": "time_limit_only",
             "custom": "np.sum(np.square(next_obs[:, 2:4] - next_obs[:, 6:8]), axis=1)",
             "terms": [{"kind": "progress", "quantity": "distance_escort_position_beacon_position",
                        "toward": "lower", "weight": "medium"},
                       {"kind": "keep_small", "quantity": "custom", "weight": "small"},
                       {"kind": "closeness", "quantity": "cosine_escort_motion_beacon_motion", "target": 1,
                        "width": "wide", "weight": "small"}]}
    codes = {}
    for module_space in (numpy_space, space):
        compiled = SpecMode.for_task(task, module_space, transitions).compile_reply(json.dumps(reply))
        assert compiled.problems == [], compiled.problems
        codes[module_space.array_module] = compiled.code
    body = codes["jax"].split('"""')[2]  # after the docstring, which records the spec as written
    assert "jnp.sum(jnp.square(next_obs[:, 2:4]" in body and "np." not in body.replace("jnp.", "")
    expected, _ = run(codes["numpy"], transitions)
    reward = load_reward_source(codes["jax"])
    traced = jax.jit(lambda o, a, n, t: reward(o, a, n, t)[0])
    got = traced(transitions.obs, transitions.action, transitions.next_obs, transitions.terminated)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-4)


# -- the custom quantity ---------------------------------------------------------------------


@pytest.mark.parametrize("text, problem", [
    ("obs.__class__", "attribute"),
    ("__import__('os')", "may not call"),
    ("np.load(obs)", "may not call"),
    ("open", "unknown name"),
    ("obs[:, 0] ** obs[:, 1]", "power"),
    ("[x for x in obs]", "may not contain"),
    ("lambda: 0", "may not contain"),
    ("np.sum(obs, axis=1, out=obs)", "keyword"),
    ("obs[:, 40]", "outside the observation"),
    ("'text'", "numbers"),
    ("1 + 2", "reads none"),
    ("obs[:, (0)", "not a valid expression"),
])
def test_the_custom_expression_allowlist_refuses_anything_but_array_arithmetic(text, problem):
    parsed = custom_expression.parse(text, 6)
    assert parsed.text is None and any(problem in p for p in parsed.problems), parsed.problems


def test_a_custom_quantity_is_probed_on_real_transitions_and_usable_like_a_named_one(relational):
    task, space, transitions = relational["point_goal"]
    mode = SpecMode.for_task(task, space, transitions)

    def reply(expression: str, kind: str = "keep_small") -> str:
        term = {"kind": kind, "quantity": "custom", "weight": "medium"}
        if kind == "progress":
            term["toward"] = "lower"
        return json.dumps({"ends_on": "time_limit_only", "custom": expression, "terms": [term]})

    unused = json.dumps({"ends_on": "time_limit_only", "custom": "custom_dash",
                         "terms": [{"kind": "keep_small", "quantity": "norm_speed_point", "weight": "small"}]})
    ignored = mode.compile_reply(unused)  # a custom field no term uses is ignored, whatever it holds
    assert ignored.problems == [] and ignored.spec is not None and ignored.spec.custom is None
    assert "unknown name" in mode.compile_reply(reply("custom_dash")).problems[0]
    assert "one number per environment" in mode.compile_reply(reply("obs[:, 0:2] - obs[:, 4:6]")).problems[0]
    assert "same value" in mode.compile_reply(reply("obs[:, 0] * 0")).problems[0]
    assert "not finite" in mode.compile_reply(reply("np.log(obs[:, 0] - obs[:, 0])")).problems[0]
    assert "no progress" in mode.compile_reply(reply("next_obs[:, 0] - obs[:, 0]", "progress")).problems[0]
    # a state quantity (it reads obs only) is a progress potential: obs is the state before and after
    good = mode.compile_reply(reply("np.linalg.norm(obs[:, 0:2] - obs[:, 4:6], axis=1)", "progress"))
    assert good.problems == [] and good.spec is not None and good.spec.custom
    total, parts = run(good.code, transitions)
    step = mode.calibration.step["distance_position_point_position_goal"]
    after, before = hypot(transitions.next_obs, (0, 1), (4, 5)), hypot(transitions.obs, (0, 1), (4, 5))
    assert np.corrcoef(total, before - after)[0, 1] > 0.999 and step > 0
    assert mode.spec_of(good.code) == good.spec  # the compiled module records it


def test_structural_edits_offer_the_distance_in_place_of_separate_coordinates(relational):
    """The failure that motivated relations: four progress terms on single coordinates."""
    task, space, transitions = relational["point_goal"]
    mode = SpecMode.for_task(task, space, transitions)
    coordinates = ("x_position_goal", "y_position_goal", "x_position_point", "y_position_point")
    spec = Spec("time_limit_only", tuple(Term("progress", "medium", quantity=q, toward="lower") for q in coordinates))
    offered = structural_edits(spec, mode.vocabulary, count=40, seed=0)
    assert any("distance_position_point_position_goal" in e.description and "quantity" in e.description
               for e in offered)
    custom_spec = mode.spec_of(json.dumps({"ends_on": "time_limit_only", "custom": "obs[:, 0] - obs[:, 4]", "terms": [
        {"kind": "progress", "quantity": "custom", "toward": 0, "weight": "medium"},
        {"kind": "keep_small", "quantity": "norm_speed_point", "weight": "small"}]}))
    assert custom_spec is not None
    kept = [e.spec for e in structural_edits(custom_spec, mode.vocabulary, count=20, seed=1)]
    assert kept and all((s.custom is not None) == any(t.quantity == "custom" for t in s.terms) for s in kept)


def test_reshape_edits_pay_for_the_same_goal_another_way(relational):
    """A closeness target near the end of a distance's range is "as low as it goes": the edits
    offer progress toward lower and keep_small on the same distance; a signed angle difference
    with a goal inside its range gets progress toward that value, not toward an end."""
    def reshaped(name: str, term: Term) -> set[tuple]:
        task, space, transitions = relational[name]
        vocabulary = SpecMode.for_task(task, space, transitions).vocabulary
        offered = structural_edits(Spec("time_limit_only", (term,)), vocabulary, count=40, seed=0)
        return {(t.kind, t.toward, t.target) for e in offered if not e.description.startswith("add")
                for t in e.spec.terms if t.quantity == term.quantity}

    distance = "distance_escort_position_beacon_position"
    near = reshaped("escort", Term("closeness", "large", quantity=distance, target=0.08, width="wide"))
    assert {("progress", "lower", None), ("keep_small", None, None)} <= near
    error = "psi_minus_target_heading"
    facing = reshaped("heading", Term("closeness", "medium", quantity=error, target=0.0, width="medium"))
    assert {("progress", 0.0, None), ("keep_small", None, None)} <= facing
    assert not {("progress", "lower", None), ("progress", "higher", None)} & facing
    toward = reshaped("escort", Term("progress", "medium", quantity=distance, toward="lower"))
    assert {("closeness", None, 0.0), ("keep_small", None, None)} <= toward


def test_a_term_that_pays_for_an_end_of_a_range_flips_to_the_other_end(relational):
    """Closeness to a distance's lowest value (or keep_small on a magnitude) pays for staying
    put; its flip is progress toward the other end. A goal inside the range has no opposite."""
    def flips(name: str, term: Term) -> list:
        task, space, transitions = relational[name]
        vocabulary = SpecMode.for_task(task, space, transitions).vocabulary
        offered = structural_edits(Spec("time_limit_only", (term,)), vocabulary, count=40, seed=0)
        return [e.spec.terms for e in offered if "instead of" in e.description and "end" in e.description]

    distance = "distance_escort_position_beacon_position"
    away = flips("escort", Term("closeness", "large", quantity=distance, target=0.08, width="wide"))
    assert away == [(Term("progress", "large", quantity=distance, toward="higher"),)]
    assert flips("escort", Term("keep_small", "small", quantity=distance)) == [
        (Term("progress", "small", quantity=distance, toward="higher"),)]
    error = "psi_minus_target_heading"
    assert flips("heading", Term("closeness", "medium", quantity=error, target=0.0, width="medium")) == []
    assert flips("heading", Term("keep_small", "medium", quantity=error)) == []


def test_keep_small_is_not_swapped_for_the_magnitude_of_its_quantity(relational):
    """keep_small squares its quantity, so on turn_rate and on abs_turn_rate it is one reward;
    progress toward higher differs (faster either way), so progress keeps the swap."""
    task, space, transitions = relational["heading"]
    vocabulary = SpecMode.for_task(task, space, transitions).vocabulary

    def swapped(term: Term) -> set:
        offered = structural_edits(Spec("time_limit_only", (term,)), vocabulary, count=60, seed=0)
        return {t.quantity for e in offered if e.description.startswith("term 1") for t in e.spec.terms}

    assert "abs_turn_rate_body" not in swapped(Term("keep_small", "small", quantity="turn_rate_body"))
    assert "abs_turn_rate_body" in swapped(Term("progress", "small", quantity="turn_rate_body", toward="higher"))


def test_edits_of_a_tied_spec_isolate_its_relation_first(relational):
    """When the fitness cannot tell specs apart, a tied spec's first edit keeps its relation
    alone (or drops the other term), not a flip of a term that may be the wrong one."""
    task, space, transitions = relational["escort"]
    vocabulary = SpecMode.for_task(task, space, transitions).vocabulary
    distance = Term("progress", "medium", quantity="distance_escort_position_beacon_position", toward="lower")
    mixed = Spec("time_limit_only", (Term("progress", "medium", quantity="norm_escort_position", toward="higher"),
                                     distance, Term("action_cost", "small")))
    first = structural_edits(mixed, vocabulary, count=1, seed=0, isolate=True)[0]
    assert first.spec.terms == (distance,) and first.description.startswith("keep only term 2")
    pair = Spec("time_limit_only", mixed.terms[:2])
    first = structural_edits(pair, vocabulary, count=1, seed=0, isolate=True)[0]
    assert first.spec.terms == (distance,) and first.description.startswith("drop term 1")
    assert ": toward" in structural_edits(pair, vocabulary, count=1, seed=0)[0].description  # a flip first


def test_scale_edits_change_one_weight_or_width_of_the_spec(relational):
    """The closing tuning of a run whose trainer tunes no constants: each variant changes one
    term's weight or one closeness width by a level and nothing else; a spec of one term gets
    no weight change (it would only scale the reward), and no structural edit is among them."""
    task, space, transitions = relational["escort"]
    vocabulary = SpecMode.for_task(task, space, transitions).vocabulary
    distance = Term("closeness", "small", quantity="distance_escort_position_beacon_position", target=0.0,
                    width="medium")
    pair = Spec("time_limit_only", (distance, Term("action_cost", "medium")))
    offered = scale_edits(pair, vocabulary, count=60, seed=0)
    assert len(offered) == 6  # two other weights for each of the two terms, two other widths
    assert {e.description.split(": ")[1].split()[0] for e in offered[:2]} == {"weight", "width"}  # taking turns
    for edit in offered:
        differing = [(a, b) for a, b in zip(pair.terms, edit.spec.terms) if a != b]
        assert edit.spec.ends_on == pair.ends_on and len(edit.spec.terms) == 2 and len(differing) == 1
        before, after = differing[0]
        assert replace(after, weight=before.weight, width=before.width) == before
        assert (before.weight != after.weight) != (before.width != after.width)
    single = scale_edits(Spec("time_limit_only", (distance,)), vocabulary, count=60, seed=0)
    assert sorted(e.spec.terms[0].width for e in single) == ["narrow", "wide"]
    assert scale_edits(Spec("time_limit_only", (Term("action_cost", "medium"),)), vocabulary, count=9) == []


def test_a_per_axis_difference_is_swapped_for_the_distance_first_not_for_one_operand(relational):
    from eureka.design.edits import _related_quantities

    task, space, transitions = relational["escort"]
    related = _related_quantities(SpecMode.for_task(task, space, transitions).vocabulary)
    for axis in (0, 1):
        swaps = related[f"escort_position_minus_beacon_position_{axis}"]
        assert swaps[0] == "distance_escort_position_beacon_position", swaps
        assert swaps.index("distance_escort_position_beacon_position") < swaps.index("norm_escort_position")


JAX_TASKS = {  # jax test task -> (its gymnasium twin, a spec on the relation it needs)
    "point_goal_jax": ("point_goal", [
        {"kind": "progress", "quantity": "distance_position_point_position_goal", "toward": "lower", "weight": "medium"},
        {"kind": "keep_small", "quantity": "norm_speed_point", "weight": "small"}]),
    "heading_jax": ("heading", [
        {"kind": "closeness", "quantity": "psi_minus_target_heading", "target": 0, "width": "medium", "weight": "medium"},
        {"kind": "keep_small", "quantity": "turn_rate_body", "weight": "small"}]),
}


@pytest.mark.parametrize("name", JAX_TASKS)
def test_a_jax_relational_task_offers_its_relation_and_the_reward_runs_on_the_env(relational, name):
    jax = pytest.importorskip("jax")
    from eureka.envs import gymnax_backend

    twin, terms = JAX_TASKS[name]
    task = load_task(TASKS / f"{name}.yaml")
    space = gymnax_backend.space_info(task.env)
    transitions = gymnax_backend.sample_transitions(task.env, 128)
    mode = SpecMode.for_task(task, space, transitions)
    numpy_task, numpy_space, _ = relational[twin]
    assert [q.name for q in mode.quantities] == [q.name for q in SpecMode.for_task(numpy_task, numpy_space).quantities]
    compiled = mode.compile_reply(json.dumps({"ends_on": "time_limit_only", "terms": terms}))
    assert compiled.problems == [] and "import jax.numpy as jnp" in compiled.code
    reward = jax.jit(lambda o, a, n, t: load_reward_source(compiled.code)(o, a, n, t)[0])
    total = np.asarray(reward(transitions.obs, transitions.action, transitions.next_obs, transitions.terminated))
    assert total.shape == (128,) and np.all(np.isfinite(total)) and np.ptp(total) > 0


def test_the_heading_env_is_the_same_on_both_backends():
    """The same start and torques give the same observations and scores on gymnasium and jax."""
    jax = pytest.importorskip("jax")
    from tests.data.envs.relational import HeadingEnv
    from tests.data.envs.relational_jax import HeadingJax, HeadingState

    numpy_env, jax_env = HeadingEnv(), HeadingJax()
    numpy_env.reset(seed=0)
    state = HeadingState(heading=jax.numpy.float32(numpy_env.heading), turn=jax.numpy.float32(0.0),
                         target=jax.numpy.float32(numpy_env.target), time=0)
    for torque in (1.0, 1.0, -0.5, 0.2, -1.0):
        obs, score, _, _, _ = numpy_env.step(np.array([torque], np.float32))
        jax_obs, state, jax_score, _, _ = jax_env.step_env(jax.random.PRNGKey(0), state, np.array([torque]),
                                                            jax_env.default_params)
        assert np.allclose(obs, np.asarray(jax_obs), atol=1e-4) and score == pytest.approx(float(jax_score), abs=1e-4)


def test_how_far_from_a_reference_is_a_quantity_and_an_edit_reaches_it():
    """A made-up layout (not a test task): an altitude with a desired altitude, and a yaw with a
    desired yaw. Each error gets its size (abs), and a term on a single quantity's size can be
    swapped for the size of its error."""
    from eureka.design.spec import SpaceInfo

    layout = ("obs[:, 0]: altitude of the drone in metres, in [0, 10]\n"
              "obs[:, 1]: desired altitude of the drone in metres, in [2, 8]\n"
              "obs[:, 2]: cos(yaw), in [-1, 1]; yaw is the heading of the drone\n"
              "obs[:, 3]: sin(yaw), in [-1, 1]\n"
              "obs[:, 4]: desired yaw in radians, in [-3.1416, 3.1416]\n")
    mode = SpecMode.from_layout(layout, SpaceInfo(5, "continuous", 2, "numpy"))
    by_name = mode.vocabulary.by_name
    altitude_error, yaw_error = by_name["abs_altitude_drone_minus_desired_altitude_drone"], by_name["abs_yaw_minus_desired_yaw"]
    assert (altitude_error.low, altitude_error.high) == (0.0, 8.0)
    assert yaw_error.high == pytest.approx(math.pi)
    reward = load_reward_source(mode.compile_reply(json.dumps({"ends_on": "time_limit_only", "terms": [
        {"kind": "keep_small", "quantity": yaw_error.name, "weight": "medium"}]})).code)
    def cost(yaw: float, desired: float) -> float:
        state = np.array([[5.0, 5.0, math.cos(yaw), math.sin(yaw), desired]], np.float32)
        return float(reward(state, np.zeros((1, 2), np.float32), state, np.zeros(1, bool))[0][0])

    assert cost(0.0, 0.0) == pytest.approx(0.0, abs=1e-6)
    assert cost(3.0, -3.0) > cost(1.5, -1.5)  # wrapped: 3 and -3 are 0.28 apart, 1.5 and -1.5 are 3
    spec = Spec("time_limit_only", (Term("closeness", "medium", quantity="abs_yaw", target=0.1, width="narrow"),))
    swaps = {e.description for seed in range(4) for e in structural_edits(spec, mode.vocabulary, count=8, seed=seed)}
    assert any("quantity abs_yaw_minus_desired_yaw instead of abs_yaw" in d for d in swaps)
    assert not any("quantity change_" in d for d in swaps)  # a closeness target on a per-step change means little
