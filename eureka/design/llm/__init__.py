"""LLM clients. `make_client` turns a model string into a client.

- ``scripted:DIR``: replies from the files of DIR (tests, demos)
- ``local`` / ``local:PATH.gguf`` / ``local:smollm2``: the embedded llama.cpp model
- anything else: a litellm model string (``openai/gpt-4o``, ``anthropic/claude-...``)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eureka import config
from eureka.design.llm.base import (BudgetRefused, Completion, GenerationSettings, LLMClient, LLMError, Message,
                                    ProviderUnavailable)
from eureka.design.llm.budget import Budget, BudgetGuard, resolve_pricing
from eureka.design.llm.retry import RetryPolicy

DEFAULT_MODEL = "local"


def resolve_model(cli_model: str | None, task_model: str | None) -> str:
    """--model, then the task file's llm.model, then EUREKA_MODEL, then the embedded model."""
    return cli_model or task_model or config.env_model() or DEFAULT_MODEL


def make_run_client(model: str, llm: Any, budget: Budget, seed: int | None = None) -> BudgetGuard:
    """The client a run uses: retries, timeouts and the circuit breaker from the task's `llm:`
    settings (eureka.task.LLMSpec), and every call checked against `budget` before it is made."""
    client = make_client(model, seed=seed, policy=RetryPolicy.from_settings(llm))
    return BudgetGuard(client, budget, resolve_pricing(model, llm.price))


def make_client(model: str, seed: int | None = None, policy: RetryPolicy | None = None) -> LLMClient:
    """The client for a model string; `seed` makes the embedded model's sampling reproducible;
    `policy` is how an API model's calls are retried."""
    if model.startswith("scripted:"):
        from eureka.design.llm.scripted import ScriptedClient

        return ScriptedClient(Path(model.split(":", 1)[1]))
    if model == "local" or model.startswith("local:"):
        from eureka.design.llm.local import LocalClient

        return LocalClient.from_spec(model.split(":", 1)[1] if ":" in model else "", seed=seed)
    from eureka.design.llm.litellm_client import LiteLLMClient

    return LiteLLMClient(model, policy=policy)


__all__ = ["Budget", "BudgetGuard", "BudgetRefused", "Completion", "GenerationSettings", "LLMClient", "LLMError",
           "Message", "ProviderUnavailable", "RetryPolicy", "make_client", "make_run_client", "resolve_model",
           "DEFAULT_MODEL"]
