"""Designers: ask, repair with the critic's problems, review; the spec designer's schema and edits.
Replies come from scripted files; the critic's probe runs in the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eureka.config import PROBE_TRANSITIONS, RunConfig
from eureka.critic.checks import Critic
from eureka.design.designer import CodeDesigner, DesignContext, IslandPrompt, SpecDesigner, make_designer
from eureka.design.llm.base import LLMError, ProviderUnavailable
from eureka.design.llm.budget import Budget
from eureka.design.llm.scripted import ScriptedClient
from eureka.design.prompts import PromptBuilder
from eureka.envs import sample_transitions, space_info
from eureka.rundir.store import RunStore
from eureka.task import load_task
from tests.helpers import GYM_CARTPOLE

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted"


@pytest.fixture(scope="module")
def parts(sandbox):
    task = load_task(GYM_CARTPOLE)
    space = space_info(task.env)
    transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
    return task, space, transitions, Critic(sandbox, space, transitions, fitness=task.fitness)


def context(tmp_path: Path) -> tuple[DesignContext, list[tuple[str, dict]]]:
    heard: list[tuple[str, dict]] = []
    store = RunStore.create(tmp_path, "cartpole")
    return DesignContext(store, Budget(None, None), lambda kind, data: heard.append((kind, data))), heard


def test_a_rejected_reply_is_repaired_and_every_attempt_recorded(tmp_path: Path, parts) -> None:
    task, space, _, critic = parts
    config = RunConfig(model="scripted:x", iterations=1, samples=1, max_repairs=1)
    ctx, heard = context(tmp_path)
    designer = make_designer(ScriptedClient(SCRIPTED / "cartpole_numpy"), critic, PromptBuilder(task, space),
                             config, ctx)
    assert type(designer) is CodeDesigner
    prompt = IslandPrompt(0, PromptBuilder(task, space).initial_messages(), None, ["a note"])
    item = designer.design(0, 0, prompt)
    assert item.code is not None and item.verdict.accepted
    assert item.record.id == "i0-c0" and item.record.status == "trained" and item.record.feedback == ["a note"]
    folder = ctx.store.path("iter_0", "cand_0")
    assert {p.name for p in folder.iterdir()} == {"reply_attempt0.md", "reply_attempt1.md", "reply.md",
                                                  "reward.py", "critic.json"}
    critic_json = json.loads((folder / "critic.json").read_text())
    assert [a["stage"] for a in critic_json["attempts"]] == ["static", "passed"]
    assert "edit" not in critic_json
    assert [k for k, _ in heard].count("repair_sent") == 1
    assert len(list(ctx.store.path("llm").glob("*.json"))) == 2


def test_replayed_replies_are_not_asked_again(tmp_path: Path, parts) -> None:
    task, space, _, critic = parts
    config = RunConfig(model="scripted:x", iterations=1, samples=1, max_repairs=0)
    ctx, _ = context(tmp_path)
    first = CodeDesigner(ScriptedClient(SCRIPTED / "cartpole_numpy"), critic, PromptBuilder(task, space), config, ctx)
    completion, _ = first.ask("i0-c0:design", [], "i0-c0")
    ctx.replay = {"i0-c0:design": completion}
    again, source = first.ask("i0-c0:design", [], "i0-c0")
    assert source == "replayed" and again is completion


def spec_designer(tmp_path: Path, parts, edits: int):
    """A spec designer on scripted CartPole specs: (designer, its prompts, spec mode, context, events heard)."""
    from eureka.design.prompts import SpecPromptBuilder
    from eureka.design.spec import SpecMode

    task, space, transitions, critic = parts
    spec_mode = SpecMode.for_task(task, space, transitions)
    prompts = SpecPromptBuilder(task, space, spec_mode)
    config = RunConfig(model="scripted:x", iterations=1, samples=1, mode="spec", edits=edits, seed=0)
    ctx, heard = context(tmp_path)
    designer = make_designer(ScriptedClient(SCRIPTED / "cartpole_spec"), critic, prompts, config, ctx, spec_mode)
    return designer, prompts, spec_mode, ctx, heard


def test_the_spec_designer_asks_for_json_and_edits_its_parent(tmp_path: Path, parts) -> None:
    designer, prompts, _, ctx, heard = spec_designer(tmp_path, parts, edits=2)
    assert isinstance(designer, SpecDesigner)
    settings, is_code = designer.reply_settings(expect_code=True)
    assert settings.json_schema is not None and not is_code
    assert designer.reply_settings(expect_code=False)[0].json_schema is None  # a review is plain text
    parent = designer.design(0, 0, IslandPrompt(0, prompts.initial_messages(), None, []))
    assert parent.code is not None, parent.verdict.problems
    edits = designer.edits(1, 0, IslandPrompt(0, [], parent.record.id, [], parent.reply), 2)
    assert len(edits) == 2
    for item in edits:
        assert item.record.edit and item.record.parent_id == "i0-c0"
        critic_json = json.loads(ctx.store.path(item.record.directory, "critic.json").read_text())
        assert critic_json["edit"] == item.record.edit
    assert [k for k, _ in heard].count("edit_designed") == 2
    assert CodeDesigner.edits(designer, 1, 0, IslandPrompt(0, [], "i0-c0", [], parent.reply), 2) == []


def test_edits_are_shared_between_candidates_that_tie_with_the_parent(tmp_path: Path, parts) -> None:
    from eureka.design.edits import structural_edits

    designer, prompts, spec_mode, _, _ = spec_designer(tmp_path, parts, edits=3)
    parent = designer.design(0, 0, IslandPrompt(0, prompts.initial_messages(), None, []))
    parent_spec = spec_mode.spec_of(parent.reply)
    alone = designer.edits(1, 0, IslandPrompt(0, [], "i0-c0", [], parent.reply), 3)
    # a tied candidate whose spec is one of the parent's edits, with terms to isolate
    other = next(e.reply for e in alone if len(spec_mode.spec_of(e.reply).terms) > 1)
    shared = designer.edits(1, 10, IslandPrompt(0, [], "i0-c0", [], parent.reply, tied=(("i0-c1", other),)), 3)
    assert [e.record.parent_id for e in alone] == ["i0-c0"] * 3
    assert [e.record.parent_id for e in shared] == ["i0-c0", "i0-c0", "i0-c1"]
    # the parent's own edits come first, less the one that is the tied candidate (trained already)
    assert [e.reply for e in shared[:2]] == [e.reply for e in alone if e.reply != other][:2]
    replies = [e.reply for e in shared]
    assert len(set(replies)) == 3 and parent_spec.dumps() not in replies and other not in replies
    # the tied candidate's edits isolate one of its terms first (keep one alone or drop one); its
    # edit is the first of them that the parent's edits did not make already
    isolating = structural_edits(spec_mode.spec_of(other), spec_mode.vocabulary, 3, seed=2, isolate=True)
    assert isolating[0].description.startswith(("keep only term", "drop term"))
    planned = {spec_mode.spec_of(e.reply) for e in shared[:2]}
    first_new = next(e for e in isolating if e.spec not in planned)
    assert spec_mode.spec_of(shared[2].reply) == first_new.spec
    assert shared[2].record.edit == first_new.description


def test_an_edit_that_will_not_train_leaves_its_place_to_the_next(tmp_path: Path, parts) -> None:
    """A duplicate of a known reward (or one the critic rejects) does not use up an edit's place:
    the next edit is made instead, up to SPARE_EDITS x count edits in all."""
    from eureka.design.designer import SPARE_EDITS

    designer, prompts, spec_mode, _, _ = spec_designer(tmp_path, parts, edits=3)
    parent = designer.design(0, 0, IslandPrompt(0, prompts.initial_messages(), None, []))
    plain = designer.edits(1, 0, IslandPrompt(0, [], "i0-c0", [], parent.reply), 3)
    turned_away: list[str] = []

    def admit(item) -> bool:  # the first two are "duplicates"
        if len(turned_away) < 2:
            turned_away.append(item.reply)
            return False
        return item.code is not None

    made = designer.edits(1, 20, IslandPrompt(0, [], "i0-c0", [], parent.reply), 3, admit=admit)
    assert [e.reply for e in made[:3]] == [e.reply for e in plain] and turned_away == [e.reply for e in plain[:2]]
    assert len(made) == 5 and len({e.reply for e in made}) == 5
    assert [e.record.index for e in made] == list(range(20, 25))
    never = designer.edits(1, 40, IslandPrompt(0, [], "i0-c0", [], parent.reply), 3, admit=lambda item: False)
    assert len(never) == SPARE_EDITS * 3


class Recording(ScriptedClient):
    """Scripted replies; remembers the settings of each request (a local model decodes under a
    grammar exactly when they carry a JSON schema)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.settings = []

    def complete(self, messages, settings):
        self.settings.append(settings)
        return super().complete(messages, settings)


def test_a_mixed_designer_asks_specs_under_the_schema_and_code_without_it(tmp_path: Path, parts) -> None:
    from eureka.design.mixed import MixedDesigner, code_samples
    from eureka.design.prompts import SpecPromptBuilder
    from eureka.design.spec import SpecMode

    assert [code_samples(k, 0.25) for k in (1, 2, 3, 4, 8)] == [0, 1, 1, 1, 2]
    assert (code_samples(3, 0.5), code_samples(4, 0), code_samples(4, 1.0), code_samples(1, 0.6)) == (2, 0, 4, 1)
    task, space, transitions, critic = parts
    spec_mode = SpecMode.for_task(task, space, transitions)
    spec_prompts, code_prompts = SpecPromptBuilder(task, space, spec_mode), PromptBuilder(task, space)
    config = RunConfig(model="scripted:x", iterations=1, samples=2, mode="spec", code_share=0.5)
    ctx, heard = context(tmp_path)
    client = Recording(SCRIPTED / "cartpole_mixed_code_wins")
    designer = make_designer(client, critic, spec_prompts, config, ctx, spec_mode, code_prompts)
    assert isinstance(designer, MixedDesigner) and designer.plan(4) == ["spec", "spec", "code", "code"]
    assert designer.prompt_sets == {"spec": spec_prompts, "code": code_prompts}
    spec = designer.design(0, 0, IslandPrompt(0, spec_prompts.initial_messages(), None, [], designer="spec"))
    code = designer.design(0, 1, IslandPrompt(0, code_prompts.initial_messages(), None, [], designer="code"))
    assert (spec.record.designer, code.record.designer) == ("spec", "code")
    assert spec.code is not None and code.code is not None and "np.cos(" in code.code
    assert client.settings[0].json_schema is not None and client.settings[1].json_schema is None
    assert client.settings[1].max_tokens == config.max_tokens_per_reply
    verdicts = [data for kind, data in heard if kind == "critic_verdict"]
    assert [v["designer"] for v in verdicts] == ["spec", "code"] and verdicts[1]["fixes"]
    # the model does not finish a code reply (the embedded model's timeout): that sample is rejected,
    # the run goes on; a spec it does not finish stops the run as before
    class Slow(Recording):
        def complete(self, messages, settings):
            if settings.json_schema is None:
                raise LLMError("local: no complete reply within timeout_s=300 (760 tokens generated)")
            return super().complete(messages, settings)

    slow = make_designer(Slow(SCRIPTED / "cartpole_mixed_code_wins"), critic, spec_prompts, config, ctx, spec_mode,
                         code_prompts)
    failed = slow.design(1, 1, IslandPrompt(0, code_prompts.initial_messages(), None, [], designer="code"))
    assert failed.code is None and failed.record.status == "rejected" and failed.record.designer == "code"
    assert "no complete reply" in failed.record.problems[0]
    assert json.loads(ctx.store.path("iter_1/cand_1/critic.json").read_text())["stage"] == "extract"
    again = slow.design(1, 1, IslandPrompt(0, code_prompts.initial_messages(), None, [], designer="code"))
    assert again.record.status == "rejected"  # a resumed run finds it finished
    with pytest.raises(ProviderUnavailable):
        class Down(Recording):
            def complete(self, messages, settings):
                raise ProviderUnavailable("the provider is down")

        make_designer(Down(SCRIPTED / "cartpole_mixed_code_wins"), critic, spec_prompts, config, ctx, spec_mode,
                      code_prompts).design(2, 1, IslandPrompt(0, [], None, [], designer="code"))
    # no share, or code mode: one designer
    assert isinstance(make_designer(client, critic, spec_prompts, config.model_copy(update={"code_share": 0}), ctx,
                                    spec_mode, code_prompts), SpecDesigner)
    assert type(make_designer(client, critic, code_prompts, config.model_copy(update={"mode": "code"}), ctx)) \
        is CodeDesigner
