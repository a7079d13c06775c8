"""Any provider through litellm, with our own retries (backoff, retryable errors only)."""

from __future__ import annotations

import os
import random
import time

from eureka import config
from eureka.design.llm.base import Completion, GenerationSettings, LLMError, Message

# litellm fetches a price map and tokenizers from the internet unless told not to.
for _name, _value in (("LITELLM_OFFLINE_MODE", "true"), ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
                      ("LITELLM_LOG", "ERROR")):
    os.environ.setdefault(_name, _value)


class LiteLLMClient:
    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None,
                 max_attempts: int = 4, backoff_s: float = 1.0) -> None:
        self.model = model
        self.api_base = api_base or config.env_api_base()
        self.api_key = api_key
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        import litellm
        import openai

        litellm.suppress_debug_info = True
        retryable = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                     openai.APIConnectionError)
        kwargs = dict(
            model=self.model,
            messages=[{"role": m.role, "content": m.content} for m in messages],
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            timeout=settings.timeout_s,
            max_retries=0,
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
        for attempt in range(1, self.max_attempts + 1):
            start = time.monotonic()
            try:
                response = litellm.completion(**kwargs)
            except retryable as exc:
                if attempt == self.max_attempts:
                    raise LLMError(f"{self.model}: gave up after {attempt} attempts: {_short(exc)}") from None
                time.sleep(self.backoff_s * 2 ** (attempt - 1) * (1 + random.random() * 0.25))
                continue
            except openai.BadRequestError as exc:
                if "response_format" not in kwargs or attempt == self.max_attempts:
                    raise LLMError(f"{self.model}: {_short(exc)}") from None
                kwargs.pop("response_format")  # the provider refused the schema: ask without it
                continue
            except openai.APIError as exc:
                raise LLMError(f"{self.model}: {_short(exc)}") from None
            latency = time.monotonic() - start
            text = response.choices[0].message.content or ""
            usage = getattr(response, "usage", None)
            return Completion(
                text=text,
                model=self.model,
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cost_usd=_cost(litellm, response),
                latency_s=latency,
            )
        raise AssertionError("unreachable")


def _supports_schema(litellm, model: str) -> bool:
    try:
        return bool(litellm.supports_response_schema(model=model))
    except Exception:  # unknown model: litellm raises; send no schema
        return False


def _cost(litellm, response) -> float:
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # unknown model prices: litellm raises; count it as free
        return 0.0


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
