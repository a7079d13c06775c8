"""Token and cost accounting for a run, with limits that hold.

Every call (design, repair, review, reflection) goes through `BudgetGuard`, which reserves an
estimate before the call is made (the prompt at ~3 characters a token, plus the whole
`max_tokens` of the reply) and refuses the call with `BudgetRefused` when spent + reserved +
estimate would pass a limit. So a run never overspends by more than an estimate's error on the
prompt side, and the run stops with stop reason "budget" instead.

Costs come from `llm.price` in the task file, else litellm's price table; a model with neither
cannot run with --max-cost (`pricing_problem` says why, before the run starts).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from eureka.design.llm.base import BudgetRefused, Completion, GenerationSettings, LLMClient, Message

CHARS_PER_TOKEN_ESTIMATE = 3  # conservative: English prose and code run at ~4 characters a token
TOKENS_PER_MESSAGE = 8  # role and framing tokens of each chat message


@dataclass(frozen=True)
class Pricing:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    source: str  # "task file", "litellm", "free"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


FREE = Pricing(0.0, 0.0, "free")


def is_local_model(model: str) -> bool:
    return model == "local" or model.startswith(("local:", "scripted:"))


def resolve_pricing(model: str, price: Any | None) -> Pricing | None:
    """The price of `model`: the task's `llm.price`, free for local and scripted models,
    else litellm's table; None when nobody knows it."""
    if price is not None:
        return Pricing(float(price.input_per_mtok), float(price.output_per_mtok), "task file")
    if is_local_model(model):
        return FREE
    import eureka.design.llm.litellm_client  # noqa: F401  (litellm's offline settings, before import)
    import litellm

    try:
        info = litellm.get_model_info(model=model)
        prompt, completion = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    except Exception:  # litellm raises for a model it does not know
        return None
    if prompt is None or completion is None:
        return None
    return Pricing(float(prompt) * 1e6, float(completion) * 1e6, "litellm")


def pricing_problem(model: str, price: Any | None, max_cost_usd: float | None) -> str | None:
    """Why a run with --max-cost cannot start (its model has no known price), else None."""
    if max_cost_usd is None or resolve_pricing(model, price) is not None:
        return None
    return (f"--max-cost: the price of {model} is unknown (litellm's table has no entry), so the cost "
            "limit could not hold; set llm.price (input_per_mtok, output_per_mtok: USD per million "
            "tokens) in the task file, or drop --max-cost")


@dataclass(frozen=True)
class Estimate:
    tokens: int
    cost_usd: float


def estimate(messages: list[Message], settings: GenerationSettings, pricing: Pricing | None) -> Estimate:
    prompt = sum(len(m.content) // CHARS_PER_TOKEN_ESTIMATE + TOKENS_PER_MESSAGE for m in messages)
    cost = pricing.cost(prompt, settings.max_tokens) if pricing is not None else 0.0
    return Estimate(prompt + settings.max_tokens, cost)


@dataclass
class Budget:
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    reserved_tokens: int = 0
    reserved_cost_usd: float = 0.0
    refused: str | None = None  # why a call was not made (the budget stop)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def charge(self, completion: Completion) -> None:
        with self._lock:
            self.calls += 1
            self.tokens += completion.prompt_tokens + completion.completion_tokens
            self.cost_usd += completion.cost_usd

    def reserve(self, need: Estimate) -> None:
        """Hold `need` for a call about to be made, or refuse it (BudgetRefused)."""
        with self._lock:
            if self.max_tokens is not None and self.tokens + self.reserved_tokens + need.tokens > self.max_tokens:
                self.refused = (f"the next call could use {need.tokens} tokens (estimate) and "
                                f"{self.tokens}/{self.max_tokens} are used")
            elif (self.max_cost_usd is not None
                  and self.cost_usd + self.reserved_cost_usd + need.cost_usd > self.max_cost_usd):
                self.refused = (f"the next call could cost ${need.cost_usd:.4f} (estimate) and "
                                f"${self.cost_usd:.4f}/${self.max_cost_usd:.4f} is spent")
            else:
                self.reserved_tokens += need.tokens
                self.reserved_cost_usd += need.cost_usd
                return
            raise BudgetRefused(self.refused)

    def release(self, need: Estimate) -> None:
        with self._lock:
            self.reserved_tokens -= need.tokens
            self.reserved_cost_usd -= need.cost_usd

    @property
    def exhausted(self) -> bool:
        return (self.refused is not None
                or (self.max_tokens is not None and self.tokens >= self.max_tokens)
                or (self.max_cost_usd is not None and self.cost_usd >= self.max_cost_usd))

    def describe(self) -> str:
        limits = []
        if self.max_tokens is not None:
            limits.append(f"{self.tokens}/{self.max_tokens} tokens")
        if self.max_cost_usd is not None:
            limits.append(f"${self.cost_usd:.4f}/${self.max_cost_usd:.4f}")
        text = ", ".join(limits) or f"{self.tokens} tokens, ${self.cost_usd:.4f}"
        return f"{text}; {self.refused}" if self.refused else text

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "cost_usd": self.cost_usd, "calls": self.calls,
                "max_tokens": self.max_tokens, "max_cost_usd": self.max_cost_usd, "refused": self.refused}


class BudgetGuard:
    """An LLM client that checks every call against the run's budget before making it,
    prices it, and charges it. Other attributes (supports_prefill, on_progress, skip,
    listener) are the wrapped client's, read and written through."""

    charges_budget = True

    def __init__(self, client: LLMClient, budget: Budget, pricing: Pricing | None) -> None:
        object.__setattr__(self, "client", client)
        object.__setattr__(self, "budget", budget)
        object.__setattr__(self, "pricing", pricing)

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        need = estimate(messages, settings, self.pricing)
        self.budget.reserve(need)
        try:
            completion = self.client.complete(messages, settings)
        finally:
            self.budget.release(need)
        if self.pricing is not None:
            completion = replace(completion, cost_usd=self.pricing.cost(completion.prompt_tokens,
                                                                        completion.completion_tokens))
        self.budget.charge(completion)
        return completion

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.client, name, value)
