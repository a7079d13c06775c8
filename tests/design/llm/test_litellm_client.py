"""The real litellm path against a local OpenAI-compatible HTTP server."""

from __future__ import annotations

import pytest

from eureka.design.llm import make_client
from eureka.design.llm.base import GenerationSettings, LLMError, Message
from eureka.design.llm.litellm_client import LiteLLMClient

from .openai_server import OpenAIServer

REPLY = "Reward upright.\n```python\ndef compute_reward(obs, action, next_obs, terminated):\n    pass\n```\n"
MESSAGES = [Message("system", "you write rewards"), Message("user", "balance the pole")]


def client_for(server: OpenAIServer, **kwargs) -> LiteLLMClient:
    return LiteLLMClient("openai/test-model", api_base=server.base_url, api_key="sk-test", backoff_s=0.01, **kwargs)


def test_reply_text_and_usage_come_back() -> None:
    with OpenAIServer([REPLY]) as server:
        completion = client_for(server).complete(MESSAGES, GenerationSettings(temperature=0.3, max_tokens=77))
    assert completion.text == REPLY
    assert completion.completion_tokens == len(REPLY.split())
    assert completion.prompt_tokens == 6  # words, as the test server counts them
    assert completion.latency_s > 0
    body = server.requests[0]["body"]
    assert body["messages"] == [{"role": "system", "content": "you write rewards"},
                                {"role": "user", "content": "balance the pole"}]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 77
    assert server.requests[0]["authorization"] == "Bearer sk-test"


def test_transient_errors_are_retried_then_succeed() -> None:
    with OpenAIServer([500, 429, REPLY]) as server:
        completion = client_for(server).complete(MESSAGES, GenerationSettings())
    assert completion.text == REPLY
    assert len(server.requests) == 3


def test_retries_give_up_with_a_clear_error() -> None:
    with OpenAIServer([500, 500, 500]) as server:
        with pytest.raises(LLMError, match="gave up after 3 attempts"):
            client_for(server, max_attempts=3).complete(MESSAGES, GenerationSettings())
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 401])
def test_client_errors_are_not_retried(status: int) -> None:
    with OpenAIServer([status, REPLY]) as server:
        with pytest.raises(LLMError, match="openai/test-model"):
            client_for(server).complete(MESSAGES, GenerationSettings())
    assert len(server.requests) == 1


def test_a_hanging_server_times_out() -> None:
    with OpenAIServer(["hang", "hang"]) as server:
        with pytest.raises(LLMError, match="gave up"):
            client_for(server, max_attempts=2).complete(MESSAGES, GenerationSettings(timeout_s=0.5))


def test_make_client_routes_provider_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer([REPLY]) as server:
        monkeypatch.setenv("EUREKA_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        completion = make_client("openai/gpt-4o").complete(MESSAGES, GenerationSettings())
    assert completion.text == REPLY
    assert server.requests[0]["body"]["model"] == "gpt-4o"
