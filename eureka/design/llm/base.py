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
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


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


class LLMClient(Protocol):
    model: str

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion: ...
