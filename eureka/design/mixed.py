"""Both designers in one population: structured specs, and beside them a share of free-form code.

A small model writes good specs and mostly poor free-form code, but code can say what no spec
can; so in structured mode a share of each generation's samples (`RunConfig.code_share`) is asked
as free-form code, with the same task, reflection and elites (a spec parent is shown to the code
designer as its compiled code), and checked by the same critic, whose deterministic auto-repair
fixes the small model's usual slips. Both kinds meet in one population: the novelty filter, the
training and the selection of parents and of the best treat them alike, so the fitness decides
which survive. Each designer keeps its own repair loop; the spec designer keeps its edits.
"""

from __future__ import annotations

import math

from eureka.critic.checks import CriticVerdict
from eureka.design.designer import (Admit, CodeDesigner, Designed, DesignContext, IslandPrompt, SpecDesigner,
                                    attempt_record, critic_record)
from eureka.design.llm.base import LLMClient, LLMError, ProviderUnavailable
from eureka.design.prompts import PromptBuilder


def code_samples(samples: int, share: float) -> int:
    """How many of a generation's `samples` are free-form code: `share` of them, rounded half up,
    and at least one when there is a share and at least two samples."""
    if share <= 0:
        return 0
    count = math.floor(samples * share + 0.5)
    return min(samples, max(count, 1 if samples >= 2 else 0))


class MixedDesigner:
    """Spec samples first, then the free-form code samples of a generation (so that a local model
    reads each prompt once, and reuses it for the samples after the first)."""

    def __init__(self, spec: SpecDesigner, code: CodeDesigner, share: float) -> None:
        self.spec = spec
        self.code = code
        self.share = share
        self.designers: dict[str, CodeDesigner] = {spec.name: spec, code.name: code}

    @property
    def client(self) -> LLMClient:
        return self.spec.client

    @property
    def prompts(self) -> PromptBuilder:
        return self.spec.prompts

    @property
    def context(self) -> DesignContext:
        return self.spec.context

    @property
    def prompt_sets(self) -> dict[str, PromptBuilder]:
        return {name: designer.prompts for name, designer in self.designers.items()}

    def plan(self, samples: int) -> list[str]:
        code = code_samples(samples, self.share)
        return [self.spec.name] * (samples - code) + [self.code.name] * code

    def design(self, iteration: int, index: int, prompt: IslandPrompt) -> Designed:
        designer = self.designers.get(prompt.designer, self.spec)
        try:
            return designer.design(iteration, index, prompt)
        except LLMError as exc:
            if designer is self.spec or isinstance(exc, ProviderUnavailable):
                raise
            return self.unfinished(iteration, index, prompt, exc)

    def unfinished(self, iteration: int, index: int, prompt: IslandPrompt, error: LLMError) -> Designed:
        """A free-form sample the model did not finish (the embedded model's timeout on a long code
        reply, ~1,000 tokens where a spec is ~150) is a rejected candidate, not the end of the run:
        the specs beside it go on. Its critic.json records the failure (not the attempts before)."""
        store = self.context.store
        directory = store.candidate_dir(iteration, index)
        reply = store.path(directory, "reply.md").read_text() if store.path(directory, "reply.md").is_file() else ""
        store.write_text(f"{directory}/reply.md", reply)
        verdict = CriticVerdict("extract", [f"the model gave no complete reply: {error}"])
        store.write_critic(directory, critic_record(verdict, [attempt_record(0, "reply.md", verdict)]))
        return self.code.designed(iteration, index, prompt, reply, None, verdict)

    def edits(self, iteration: int, first_index: int, prompt: IslandPrompt, count: int,
              admit: Admit | None = None, scales: bool = False) -> list[Designed]:
        return self.spec.edits(iteration, first_index, prompt, count, admit, scales)

    def person(self, iteration: int, code: str, reply: str, parent: str | None) -> Designed:
        return self.spec.person(iteration, code, reply, parent)
