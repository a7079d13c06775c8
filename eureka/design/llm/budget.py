"""Token and cost accounting for a run, with optional limits."""

from __future__ import annotations

from dataclasses import dataclass

from eureka.design.llm.base import Completion


@dataclass
class Budget:
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def charge(self, completion: Completion) -> None:
        self.calls += 1
        self.tokens += completion.prompt_tokens + completion.completion_tokens
        self.cost_usd += completion.cost_usd

    @property
    def exhausted(self) -> bool:
        return ((self.max_tokens is not None and self.tokens >= self.max_tokens)
                or (self.max_cost_usd is not None and self.cost_usd >= self.max_cost_usd))

    def describe(self) -> str:
        limits = []
        if self.max_tokens is not None:
            limits.append(f"{self.tokens}/{self.max_tokens} tokens")
        if self.max_cost_usd is not None:
            limits.append(f"${self.cost_usd:.4f}/${self.max_cost_usd:.4f}")
        return ", ".join(limits) or f"{self.tokens} tokens, ${self.cost_usd:.4f}"

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "cost_usd": self.cost_usd, "calls": self.calls,
                "max_tokens": self.max_tokens, "max_cost_usd": self.max_cost_usd}
