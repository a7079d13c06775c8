"""Designers: how a candidate reward is asked for, repaired and reviewed.

`CodeDesigner` asks for free-form reward code, sends the critic's problems back as repair
prompts up to `max_repairs` times, and (when on) has the LLM review accepted code.
`SpecDesigner` asks for a structured reward spec under a JSON schema (small models) and also
makes structural edits of the parent's spec. `MixedDesigner` (eureka.design.mixed) holds both:
a share of each generation's samples is free-form code beside the specs. The loop holds one
`Designer` and never asks which kind it is: it asks each sample of its `plan` with the prompt
built by the named designer's prompt builder (`prompt_sets`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Protocol

from eureka.config import RunConfig
from eureka.critic.checks import Critic, CriticVerdict, Review
from eureka.critic.review import review_with_second_chance
from eureka.rundir.integrity import reward_sha256
from eureka.design.llm.base import BudgetRefused, Completion, GenerationSettings, LLMClient, LLMError, Message
from eureka.design.llm.budget import Budget
from eureka.design.prompts import PromptBuilder
from eureka.rundir.records import Candidate, Critic as CriticRecord, CriticAttempt, EventKind
from eureka.rundir.store import RunStore

if TYPE_CHECKING:
    from eureka.design.edits import Edit
    from eureka.design.spec import SpecMode

Listener = Callable[[str, dict[str, Any]], None]
Emit = Callable[..., None]  # emit(kind, **data): events.jsonl and the listener
Admit = Callable[["Designed"], bool]  # takes a designed edit; whether it will train
CODE_PREFILL = "```python\n"
SPARE_EDITS = 2  # edits made per edit trained, at most: a rejected or duplicate one leaves its place


@dataclass(frozen=True)
class IslandPrompt:
    """What one island's samples of a generation are asked with."""

    island: int
    messages: list[Message]
    parent: str | None
    feedback: list[str]
    parent_reply: str | None = None  # the parent's reply (its spec, in structured mode)
    designer: str = ""  # the designer these messages are for (a key of `Designer.prompt_sets`)
    # Candidates that score exactly as the parent, as (id, reply): the fitness cannot tell them
    # apart, so eureka's edits are spread over them too (never shown to the model).
    tied: tuple[tuple[str, str], ...] = ()


@dataclass
class Designed:
    record: Candidate
    code: str | None  # None: rejected
    reply: str
    verdict: CriticVerdict


@dataclass
class DesignContext:
    """What designing shares with the loop: where files and events go, and what a run counts."""

    store: RunStore
    budget: Budget
    listener: Listener | None = None
    filters: Counter[str] = field(default_factory=Counter)  # trainings saved, by filter
    finished_filters: Counter[str] = field(default_factory=Counter)  # as of the last finished generation
    replay: dict[str, Completion] = field(default_factory=dict)  # recorded replies by purpose (a resumed run)

    def emit(self, kind: EventKind, /, **data: Any) -> None:
        """An event: a line of events.jsonl, and the listener's call."""
        self.store.event(kind, **data)
        if self.listener:
            self.listener(kind, data)


def critic_record(verdict: CriticVerdict, attempts: list[CriticAttempt], edit: str | None = None) -> CriticRecord:
    """critic.json of a candidate: the final verdict and every attempt's."""
    return CriticRecord(accepted=verdict.accepted, stage=verdict.stage, problems=verdict.problems,
                        components=verdict.components, ranking=verdict.ranking, edit=edit, attempts=attempts)


def attempt_record(attempt: int, reply_file: str, verdict: CriticVerdict) -> CriticAttempt:
    return CriticAttempt(attempt=attempt, reply=reply_file, **verdict.to_json())


class Designer(Protocol):
    client: LLMClient
    prompts: PromptBuilder
    context: DesignContext

    @property
    def prompt_sets(self) -> dict[str, PromptBuilder]:
        """The prompt builder of each designer it holds, by name; the first one's prompts carry the edits."""

    def plan(self, samples: int) -> list[str]:
        """Which designer (a key of `prompt_sets`) writes each of a generation's samples."""

    def design(self, iteration: int, index: int, prompt: IslandPrompt) -> Designed:
        """One candidate of `prompt`'s island (repaired as often as allowed)."""

    def edits(self, iteration: int, first_index: int, prompt: IslandPrompt, count: int,
              admit: Admit | None = None, scales: bool = False) -> list[Designed]:
        """Candidates eureka makes itself from the parent (structured mode), checked like any;
        `admit` takes each as it is made and says whether it trains (see SpecDesigner.edits).
        With `scales`, only the parent's weights and widths change."""

    def person(self, iteration: int, code: str, reply: str, parent: str | None) -> Designed:
        """A reward a person wrote, checked like any candidate."""


class CodeDesigner:
    """Free-form reward code: ask, repair with the critic's problems, review."""

    name = "code"  # what candidate.json's "designer" says

    def __init__(self, client: LLMClient, critic: Critic, prompts: PromptBuilder, config: RunConfig,
                 context: DesignContext) -> None:
        self.client = client
        self.critic = critic
        self.prompts = prompts
        self.config = config
        self.context = context

    @property
    def store(self) -> RunStore:
        return self.context.store

    @property
    def prompt_sets(self) -> dict[str, PromptBuilder]:
        return {self.name: self.prompts}

    def plan(self, samples: int) -> list[str]:
        return [self.name] * samples

    def check_reply(self, reply: str) -> tuple[str | None, CriticVerdict]:
        return self.critic.check_reply(reply)

    def reply_settings(self, expect_code: bool) -> tuple[GenerationSettings, bool]:
        """The generation settings of a request, and whether its reply is a code block."""
        return self.config.generation, expect_code

    def edits(self, iteration: int, first_index: int, prompt: IslandPrompt, count: int,
              admit: Admit | None = None, scales: bool = False) -> list[Designed]:
        return []  # free-form code has no spec to edit

    def ask(self, purpose: str, messages: list[Message], candidate_id: str,
            expect_code: bool = True) -> tuple[Completion, str]:
        if purpose in self.context.replay:  # paid for before the run was interrupted
            return self.context.replay[purpose], "replayed"
        self.watch_generation(candidate_id)
        settings, expect_code = self.reply_settings(expect_code)
        prefill = expect_code and getattr(self.client, "supports_prefill", False)
        if prefill:
            # A model we run ourselves starts right at the code and stops at its closing
            # fence: no rambling preamble eats the token budget (measured with the 1.5B model).
            messages = messages + [Message("assistant", CODE_PREFILL)]
            settings = replace(settings, stop=("```",))
        try:
            completion = self.client.complete(messages, settings)
        except BudgetRefused as exc:
            self.context.emit(EventKind.BUDGET_REFUSED, candidate=candidate_id, purpose=purpose, reason=str(exc))
            raise
        except LLMError as exc:
            self.context.emit(EventKind.LLM_FAILED, candidate=candidate_id, error=str(exc))
            raise
        if prefill:
            completion = replace(completion, text=CODE_PREFILL + completion.text.rstrip() + "\n```\n")
        if not getattr(self.client, "charges_budget", False):
            self.context.budget.charge(completion)
        return completion, self.store.record_llm_call(purpose, messages, completion)

    def watch_generation(self, candidate_id: str) -> None:
        """Show tokens/s while a local model generates (clients with an on_progress hook)."""
        if hasattr(self.client, "on_progress") and self.context.listener is not None:
            self.client.on_progress = _ProgressThrottle(self.context.listener, candidate_id)

    def design(self, iteration: int, index: int, prompt: IslandPrompt) -> Designed:
        """Ask for one candidate of `prompt`'s island, repairing it up to max_repairs times."""
        messages = prompt.messages
        candidate_id = f"i{iteration}-c{index}"
        directory = self.store.candidate_dir(iteration, index)
        if self.store.path(directory, "candidate.json").is_file():  # finished before an interruption
            record = self.store.read_candidate(directory)
            if record.status == "rejected":
                for counted in self.store.read_json(f"{directory}/critic.json").get("attempts", []):
                    if counted.get("stage") in ("ranking", "review"):  # counted again, like the rest of
                        self.context.filters[counted["stage"]] += 1  # the generation being redone
                return Designed(record, None, self.store.path(directory, "reply.md").read_text(),
                                CriticVerdict("extract", record.problems))
        attempts: list[CriticAttempt] = []
        reply, code, verdict, llm_file = "", None, CriticVerdict("extract", ["no reply"]), ""
        for attempt in range(self.config.max_repairs + 1):
            if attempt:
                if self.context.budget.exhausted:
                    break
                messages = self.prompts.repair_messages(messages, reply, verdict.problems)
                self.context.emit(EventKind.REPAIR_SENT, candidate=candidate_id, attempt=attempt,
                                  problems=verdict.problems)
            purpose = f"{candidate_id}:{'design' if attempt == 0 else f'repair{attempt}'}"
            try:
                completion, llm_file = self.ask(purpose, messages, candidate_id)
            except BudgetRefused:
                if attempt == 0:
                    raise
                break  # the last reply's verdict stands
            reply = completion.text
            self.store.write_text(f"{directory}/reply_attempt{attempt}.md", reply)
            self.store.write_text(f"{directory}/reply.md", reply)
            self.context.emit(EventKind.LLM_REPLY, candidate=candidate_id, attempt=attempt, llm_file=llm_file,
                              completion_tokens=completion.completion_tokens,
                              latency_s=round(completion.latency_s, 2), designer=self.name)
            code, verdict = self.check_reply(reply)
            if code is not None:
                self.store.write_text(f"{directory}/reward.py", code)
            if verdict.accepted and self.config.llm_review and code is not None:
                verdict = self.review(candidate_id, attempt, code, verdict)
            attempts.append(attempt_record(attempt, f"reply_attempt{attempt}.md", verdict))
            self.context.emit(EventKind.CRITIC_VERDICT, candidate=candidate_id, attempt=attempt,
                              accepted=verdict.accepted, stage=verdict.stage, problems=verdict.problems,
                              fixes=verdict.fixes, designer=self.name)
            if verdict.stage == "ranking":
                self.context.filters["ranking"] += 1  # a training the pre-filter saved
            if verdict.accepted:
                break
        self.store.write_critic(directory, critic_record(verdict, attempts))
        return self.designed(iteration, index, prompt, reply, code, verdict)

    def designed(self, iteration: int, index: int, prompt: IslandPrompt, reply: str, code: str | None,
                 verdict: CriticVerdict, edit: str | None = None, designer: str | None = None) -> Designed:
        """The candidate's record; a rejected one is final and written now."""
        record = Candidate(id=f"i{iteration}-c{index}", iteration=iteration, index=index, parent_id=prompt.parent,
                           directory=self.store.candidate_dir(iteration, index),
                           status="trained" if verdict.accepted else "rejected", components=verdict.components,
                           problems=verdict.problems, feedback=prompt.feedback, edit=edit, island=prompt.island,
                           reward_sha256=None if code is None else reward_sha256(code),
                           designer=designer or ("edit" if edit else self.name))
        if not verdict.accepted:
            self.store.write_candidate(record)
        return Designed(record, code if verdict.accepted else None, reply, verdict)

    def person(self, iteration: int, code: str, reply: str, parent: str | None) -> Designed:
        """A reward a person wrote, as generation `iteration`'s only candidate: the critic's static
        checks and the sandboxed probe apply as to any candidate, not the LLM review."""
        directory = self.store.candidate_dir(iteration, 0)
        self.store.write_text(f"{directory}/reply.md", reply)
        self.store.write_text(f"{directory}/reward.py", code)
        verdict = self.critic.check_code(code)
        self.store.write_critic(directory, critic_record(verdict, [attempt_record(0, "reply.md", verdict)]))
        self.context.emit(EventKind.CRITIC_VERDICT, candidate=f"i{iteration}-c0", attempt=0, accepted=verdict.accepted,
                          stage=verdict.stage, problems=verdict.problems, designer="person")
        return self.designed(iteration, 0, IslandPrompt(0, [], parent, []), reply, code, verdict, designer="person")

    def review(self, candidate_id: str, attempt: int, code: str, verdict: CriticVerdict) -> CriticVerdict:
        """The LLM critic pass: a semantic review against the task text before training."""
        messages = self.prompts.review_messages(code)
        try:
            review = review_with_second_chance(lambda again: self.ask(
                f"{candidate_id}:review{attempt}{again}", messages, candidate_id, expect_code=False)[0].text)
        except BudgetRefused as exc:
            review = Review(False, [f"not reviewed: {exc}"], parsed=False)
        self.context.emit(EventKind.LLM_REVIEW, candidate=candidate_id, attempt=attempt, accepted=review.accepted,
                          reasons=review.reasons, parsed=review.parsed)
        verdict.review = review.reasons if review.reasons else ["accepted"]
        if not review.accepted:
            verdict.stage = "review"
            verdict.problems = [f"a reviewer found: {reason}" if review.parsed else reason
                                for reason in review.reasons]
            self.context.filters["review"] += 1
        return verdict


class SpecDesigner(CodeDesigner):
    """A structured reward spec (JSON under the task's schema) that eureka compiles to code;
    and one-step structural edits of the parent's spec."""

    name = "spec"

    def __init__(self, client: LLMClient, critic: Critic, prompts: PromptBuilder, config: RunConfig,
                 context: DesignContext, spec_mode: SpecMode) -> None:
        super().__init__(client, critic, prompts, config, context)
        self.spec_mode = spec_mode

    def check_reply(self, reply: str) -> tuple[str | None, CriticVerdict]:
        return self.spec_mode.check_reply(self.critic, reply)

    def reply_settings(self, expect_code: bool) -> tuple[GenerationSettings, bool]:
        if not expect_code:  # a review: plain text
            return self.config.generation, False
        return self.spec_mode.generation_settings(self.config.generation), False

    def edits(self, iteration: int, first_index: int, prompt: IslandPrompt, count: int,
              admit: Admit | None = None, scales: bool = False) -> list[Designed]:
        """One-step structural edits of the parent's spec (a flipped direction, another quantity,
        ...), made by eureka and checked like any candidate, so that the generation trains the
        fix of a wrong sign even when the model picks another edit. When other candidates score
        exactly as the parent (all at the sparse reward's level, say), the edits are shared
        between them: which of them holds the right quantity, the fitness cannot say, so theirs
        isolate one of their terms first.

        `admit(item)` takes each edit as it is made (the search starts its training) and says
        whether it will train: one the critic rejects, or the same reward as a known one, leaves
        its place to the next edit (up to SPARE_EDITS x `count` edits made in all). Without it,
        every edit the critic accepts counts. With `scales`, the parent's weights and widths
        change instead (scale_edits: the run's closing tuning where the trainer does not tune)."""
        if prompt.parent is None or prompt.parent_reply is None or count <= 0:
            return []
        from eureka.design.edits import scale_edits, structural_edits

        sources = [(prompt.parent, prompt.parent_reply), *([] if scales else prompt.tied)][:count]
        seed = (self.config.seed or 0) * 1_000 + iteration
        specs = [self.spec_mode.spec_of(reply) for _, reply in sources]
        seen = {spec.dumps() for spec in specs if spec is not None}  # trained already: not again
        admit = admit or (lambda item: item.code is not None)
        made: list[Designed] = []
        for position, ((parent, reply), spec) in enumerate(zip(sources, specs)):
            if spec is None:
                continue
            share = count // len(sources) + (1 if position < count % len(sources) else 0)
            offered = (scale_edits(spec, self.spec_mode.vocabulary, SPARE_EDITS * count, seed) if scales else
                       structural_edits(spec, self.spec_mode.vocabulary, SPARE_EDITS * count, seed + position,
                                        isolate=position > 0))
            source = prompt if position == 0 else replace(prompt, parent=parent, parent_reply=reply, tied=())
            admitted = 0
            for edit in (e for e in offered if e.spec.dumps() not in seen):
                if admitted == share or len(made) == SPARE_EDITS * count:
                    break
                seen.add(edit.spec.dumps())
                item = self.designed_edit(iteration, first_index + len(made), source, edit)
                made.append(item)
                admitted += admit(item)
        return made

    def designed_edit(self, iteration: int, index: int, prompt: IslandPrompt, edit: Edit) -> Designed:
        directory = self.store.candidate_dir(iteration, index)
        reply = edit.spec.dumps()
        code, verdict = self.check_reply(reply)
        self.store.write_text(f"{directory}/reply.md", reply)
        if code is not None:
            self.store.write_text(f"{directory}/reward.py", code)
        self.store.write_critic(directory, critic_record(verdict, [attempt_record(0, "reply.md", verdict)],
                                                         edit=edit.description))
        item = self.designed(iteration, index, prompt, reply, code, verdict, edit=edit.description)
        if verdict.stage == "ranking":
            self.context.filters["ranking"] += 1
        self.context.emit(EventKind.EDIT_DESIGNED, candidate=item.record.id, edit=edit.description,
                          accepted=verdict.accepted, stage=verdict.stage, problems=verdict.problems)
        return item


class _ProgressThrottle:
    """A local model's progress hook: at most two listener calls a second."""

    def __init__(self, listener: Listener, candidate_id: str) -> None:
        self.listener = listener
        self.candidate_id = candidate_id
        self.last = 0.0

    def __call__(self, tokens: int, tokens_per_s: float) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            self.listener(EventKind.LLM_PROGRESS, {"candidate": self.candidate_id, "tokens": tokens,
                                                   "tokens_per_s": tokens_per_s})


def make_designer(client: LLMClient, critic: Critic, prompts: PromptBuilder, config: RunConfig,
                  context: DesignContext, spec_mode: SpecMode | None = None,
                  code_prompts: PromptBuilder | None = None) -> Designer:
    """Free-form code; or specs (with `spec_mode`), and beside them a share of free-form code
    samples (`config.code_share`) asked with `code_prompts`."""
    if spec_mode is None:
        return CodeDesigner(client, critic, prompts, config, context)
    spec = SpecDesigner(client, critic, prompts, config, context, spec_mode)
    if config.code_share <= 0 or code_prompts is None:
        return spec
    from eureka.design.mixed import MixedDesigner

    return MixedDesigner(spec, CodeDesigner(client, critic, code_prompts, config, context), config.code_share)
