"""Any provider through litellm, with our own retries (eureka.design.llm.retry)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any, Callable

from eureka import config
from eureka.design.llm.base import Attempt, Completion, GenerationSettings, LLMError, Message
from eureka.design.llm.retry import CircuitBreaker, MalformedReply, RetryingCall, RetryPolicy, describe

# litellm fetches a price map and tokenizers from the internet unless told not to.
for _name, _value in (("LITELLM_OFFLINE_MODE", "true"), ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
                      ("LITELLM_LOG", "ERROR")):
    os.environ.setdefault(_name, _value)

Listener = Callable[[str, dict[str, Any]], None]


class LiteLLMClient:
    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None,
                 policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int | None = None, backoff_s: float | None = None) -> None:
        """`max_attempts` and `backoff_s`, where given, replace those of `policy`."""
        self.model = model
        self.api_base = api_base or config.env_api_base()
        self.api_key = api_key
        policy = policy or RetryPolicy()
        if max_attempts is not None:
            policy = replace(policy, max_attempts=max_attempts)
        if backoff_s is not None:
            policy = replace(policy, backoff_s=backoff_s, backoff_max_s=max(backoff_s, 0.0) * 4)
        self.policy = policy
        self.breaker = CircuitBreaker(self.policy.breaker_s)
        self.sleep = sleep
        self.listener: Listener | None = None  # hears of every failed attempt (llm_retry, llm_gave_up)

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        import litellm

        litellm.suppress_debug_info = True
        kwargs: dict[str, Any] = dict(
            model=self.model,
            messages=[{"role": m.role, "content": m.content} for m in messages],
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            max_retries=0,  # the openai SDK's own retries would hide attempts from us
        )
        if settings.stop:
            kwargs["stop"] = list(settings.stop)
        if settings.json_schema is not None and _supports_schema(litellm, self.model):
            # best effort: strict mode would refuse keywords some providers lack (minItems, const);
            # the reply is parsed and validated by the caller anyway
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "reply", "schema": settings.json_schema, "strict": False}}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        import openai

        call = RetryingCall(self.policy, self.breaker, self.model, self._announce, self.sleep)
        try:
            response = call.run(lambda timeout: _request(litellm, kwargs, timeout))
        except openai.BadRequestError as exc:
            if "response_format" not in kwargs:
                raise LLMError(f"{self.model}: {describe(exc)}") from None
            kwargs.pop("response_format")  # the provider refused the schema: ask without it
            try:
                response = call.run(lambda timeout: _request(litellm, kwargs, timeout))
            except openai.APIError as exc:
                raise LLMError(f"{self.model}: {describe(exc)}") from None
        except openai.APIError as exc:
            raise LLMError(f"{self.model}: {describe(exc)}") from None
        usage = getattr(response, "usage", None)
        return Completion(
            text=response.choices[0].message.content or "",
            model=self.model,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=_cost(litellm, response),
            latency_s=round(call.elapsed_s(), 4),
            attempts=tuple(call.attempts),
        )

    def _announce(self, attempt: Attempt, retrying: bool) -> None:
        """An event per failed attempt: "llm_retry" (another attempt follows) or "llm_gave_up"."""
        if self.listener is not None:
            self.listener("llm_retry" if retrying else "llm_gave_up", {
                "model": self.model, "attempt": attempt.number, "error": attempt.outcome, "status": attempt.status,
                "detail": attempt.detail, "latency_s": attempt.latency_s, "wait_s": attempt.wait_s})


def _request(litellm, kwargs: dict[str, Any], timeout: float):
    response = litellm.completion(**kwargs, timeout=timeout)
    choices = getattr(response, "choices", None)
    if not choices or getattr(choices[0], "message", None) is None:
        raise MalformedReply("the provider answered without a message (no choices)")
    return response


def _supports_schema(litellm, model: str) -> bool:
    try:
        return bool(litellm.supports_response_schema(model=model))
    except Exception:  # unknown model: litellm raises; send no schema
        return False


def _cost(litellm, response) -> float:
    """litellm's price; 0 where it knows none (the budget guard prices calls itself, from
    `llm.price` or litellm's table, and refuses --max-cost for a model with no price)."""
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        return 0.0

