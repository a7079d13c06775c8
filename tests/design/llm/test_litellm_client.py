"""The real litellm path against a local OpenAI-compatible HTTP server: replies, retries, give-ups."""

from __future__ import annotations

import pytest

from eureka.design.llm import make_client
from eureka.design.llm.base import GenerationSettings, LLMError, Message, ProviderUnavailable
from eureka.design.llm.litellm_client import LiteLLMClient
from eureka.design.llm.retry import RetryPolicy

from .openai_server import HANG, MALFORMED_JSON, NO_CHOICES, Fault, OpenAIServer

REPLY = "Reward upright.\n```python\ndef compute_reward(obs, action, next_obs, terminated):\n    pass\n```\n"
MESSAGES = [Message("system", "you write rewards"), Message("user", "balance the pole")]
FAST = RetryPolicy(timeout_s=5, deadline_s=60, max_attempts=10, backoff_s=0.01, backoff_max_s=0.05, breaker_s=60)


def client_for(server: OpenAIServer, policy: RetryPolicy = FAST, **kwargs) -> LiteLLMClient:
    return LiteLLMClient("openai/test-model", api_base=server.base_url, api_key="sk-test", policy=policy, **kwargs)


def test_reply_text_and_usage_come_back() -> None:
    with OpenAIServer([REPLY]) as server:
        completion = client_for(server).complete(MESSAGES, GenerationSettings(temperature=0.3, max_tokens=77))
    assert completion.text == REPLY
    assert completion.completion_tokens == len(REPLY.split())
    assert completion.prompt_tokens == 6  # words, as the test server counts them
    assert completion.latency_s > 0
    assert [(a.number, a.outcome) for a in completion.attempts] == [(1, "ok")]
    body = server.requests[0]["body"]
    assert body["messages"] == [{"role": "system", "content": "you write rewards"},
                                {"role": "user", "content": "balance the pole"}]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 77
    assert server.requests[0]["authorization"] == "Bearer sk-test"


def test_every_transient_kind_is_retried_and_recorded() -> None:
    faults = [429, 500, 502, Fault(503, retry_after=0.02), 504, MALFORMED_JSON, NO_CHOICES, HANG]
    events: list[tuple[str, dict]] = []
    slept: list[float] = []
    with OpenAIServer([*faults, REPLY], hang_s=3) as server:
        client = client_for(server, RetryPolicy(timeout_s=1, deadline_s=60, max_attempts=12, backoff_s=0.01,
                                                backoff_max_s=0.05, breaker_s=60), sleep=slept.append)
        client.listener = lambda kind, data: events.append((kind, data))
        completion = client.complete(MESSAGES, GenerationSettings())
    assert completion.text == REPLY
    assert len(server.requests) == len(faults) + 1
    outcomes = [a.outcome for a in completion.attempts]
    assert outcomes == ["RateLimitError", "InternalServerError", "BadGatewayError", "ServiceUnavailableError",
                        "Timeout", "InternalServerError", "malformed reply", "Timeout", "ok"]
    assert [a.status for a in completion.attempts][:5] == [429, 500, 502, 503, 504]
    assert [kind for kind, _ in events] == ["llm_retry"] * len(faults)
    assert [data["attempt"] for _, data in events] == list(range(1, len(faults) + 1))
    assert all(a.wait_s > 0 for a in completion.attempts[:-1]) and slept == [a.wait_s for a in completion.attempts[:-1]]
    # the whole call, every attempt included (the hang alone took the 1 s timeout)
    assert completion.latency_s >= sum(a.latency_s for a in completion.attempts) >= 1.0


def test_retry_after_is_honoured() -> None:
    slept: list[float] = []
    with OpenAIServer([Fault(429, retry_after=7), Fault(503, retry_after=3), REPLY]) as server:
        completion = client_for(server, sleep=slept.append).complete(MESSAGES, GenerationSettings())
    assert completion.text == REPLY
    assert slept[0] >= 7 and slept[1] >= 3  # the backoff alone would be ~0.01 s
    assert [a.wait_s for a in completion.attempts] == [slept[0], slept[1], 0.0]


def test_retries_give_up_with_a_clear_error() -> None:
    with OpenAIServer([500, 500, 500]) as server:
        with pytest.raises(ProviderUnavailable, match=r"gave up after 3 attempts .*max_attempts=3.*InternalServerError"):
            client_for(server, max_attempts=3).complete(MESSAGES, GenerationSettings())
    assert len(server.requests) == 3


def test_a_wait_past_the_deadline_is_not_started() -> None:
    slept: list[float] = []
    policy = RetryPolicy(timeout_s=5, deadline_s=30, max_attempts=10, backoff_s=0.01, backoff_max_s=0.05)
    with OpenAIServer([Fault(429, retry_after=120), REPLY]) as server:
        with pytest.raises(ProviderUnavailable, match="deadline_s=30"):
            client_for(server, policy, sleep=slept.append).complete(MESSAGES, GenerationSettings())
    assert slept == [] and len(server.requests) == 1


def test_the_circuit_breaker_opens_when_the_provider_stays_down() -> None:
    policy = RetryPolicy(timeout_s=5, deadline_s=600, max_attempts=1000, backoff_s=0.01, backoff_max_s=0.02,
                         breaker_s=0.3)
    with OpenAIServer(responder=lambda body, n: 503) as server:
        client = client_for(server, policy)
        with pytest.raises(ProviderUnavailable, match=r"the provider has failed for .*breaker_s=0.3"):
            client.complete(MESSAGES, GenerationSettings())
    assert 2 < len(server.requests) < 1000
    assert client.breaker.open


def test_a_success_closes_the_breaker() -> None:
    policy = RetryPolicy(timeout_s=5, deadline_s=600, max_attempts=10, backoff_s=0.01, backoff_max_s=0.02,
                         breaker_s=60)
    with OpenAIServer([500, REPLY]) as server:
        client = client_for(server, policy)
        client.complete(MESSAGES, GenerationSettings())
    assert client.breaker.failing_since is None


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(status: int) -> None:
    with OpenAIServer([status, REPLY]) as server:
        with pytest.raises(LLMError, match="openai/test-model") as raised:
            client_for(server).complete(MESSAGES, GenerationSettings())
    assert not isinstance(raised.value, ProviderUnavailable)
    assert len(server.requests) == 1


def test_a_hanging_server_times_out_per_attempt() -> None:
    policy = RetryPolicy(timeout_s=0.5, deadline_s=60, max_attempts=2, backoff_s=0.01, backoff_max_s=0.02)
    with OpenAIServer([HANG, HANG], hang_s=3) as server:
        with pytest.raises(ProviderUnavailable, match="gave up after 2 attempts.*Timeout"):
            client_for(server, policy).complete(MESSAGES, GenerationSettings())


def test_make_client_routes_provider_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer([REPLY]) as server:
        monkeypatch.setenv("EUREKA_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        completion = make_client("openai/gpt-4o").complete(MESSAGES, GenerationSettings())
    assert completion.text == REPLY
    assert server.requests[0]["body"]["model"] == "gpt-4o"
