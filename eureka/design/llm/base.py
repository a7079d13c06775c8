"""The LLM contract: a client turns chat messages into an immutable `Completion`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Attempt:
    """One request to the provider within a call: how it ended and how long it took."""

    number: int
    latency_s: float
    outcome: str = "ok"  # "ok", or the error's kind ("RateLimitError", "Timeout", "malformed reply", ...)
    status: int | None = None  # the HTTP status of an error, where there was one
    detail: str | None = None
    wait_s: float = 0.0  # the backoff slept after this attempt (Retry-After where the provider sent one)


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0  # the whole call: every attempt and the waits between them
    attempts: tuple[Attempt, ...] = ()

    def __post_init__(self) -> None:
        # a record read back from llm/NNNN.json holds the attempts as plain dicts
        if any(isinstance(a, dict) for a in self.attempts):
            object.__setattr__(self, "attempts", tuple(Attempt(**a) if isinstance(a, dict) else a
                                                       for a in self.attempts))


@dataclass(frozen=True)
class GenerationSettings:
    temperature: float = 0.8
    max_tokens: int = 1024
    timeout_s: float = 300.0
    stop: tuple[str, ...] = ()  # generation ends at the first of these strings
    # the reply must be JSON valid against this schema: constrained decoding where the client
    # supports it (local: a llama.cpp grammar), a response_format hint for API models
    json_schema: dict | None = None


class LLMError(RuntimeError):
    """The model could not produce a reply (after retries where retrying made sense)."""


class ProviderUnavailable(LLMError):
    """Only transient failures (rate limits, 5xx, timeouts, malformed bodies) until a limit: the
    call's deadline, its attempts, or the circuit breaker. The run waits rather than fails."""

    run_directory: object = None  # set by the search loop: the run to resume


class BudgetRefused(Exception):
    """A call was not made: its reserved estimate would take the run over its budget.
    Not an LLMError: the run stops cleanly with stop reason "budget"."""


class LLMClient(Protocol):
    model: str

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion: ...
