"""Riding out a provider: which failures are worth another attempt, how long to wait, when to stop.

A call is retried on transient failures only (429, 408/409/425, 500, 502, 503, 504, 52x,
timeouts, connection resets, malformed bodies) with exponential backoff and jitter, never
sooner than the provider's Retry-After. It stops at the first of: `max_attempts`, the call's
`deadline_s` (a wait that would end past it is not started), or an open circuit breaker
(the provider has failed for `breaker_s` with no success in between). Then it raises
`ProviderUnavailable`, and the run waits for `eureka resume` instead of failing.
Client errors (400, 401, 403, 404, 422) are never retried.

The loop itself is tenacity's; this module supplies its predicates, its wait and its records.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from tenacity import stop_before_delay, wait_exponential_jitter

from eureka.design.llm.base import Attempt, ProviderUnavailable

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, *range(520, 530)})
DETAIL_CHARS = 300


class MalformedReply(RuntimeError):
    """A 200 answer without a usable body (no choices, no message)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Per call: `timeout_s` per attempt, `deadline_s` for all attempts and waits together."""

    timeout_s: float = 120.0
    deadline_s: float = 900.0
    max_attempts: int = 10
    backoff_s: float = 2.0  # the first wait; each next one doubles, plus up to this much jitter
    backoff_max_s: float = 60.0
    breaker_s: float = 300.0  # failing this long with no success opens the breaker: the run waits

    @classmethod
    def from_settings(cls, llm: Any) -> "RetryPolicy":
        """From a task's `llm:` section (eureka.task.LLMSpec)."""
        return cls(timeout_s=llm.timeout_s, deadline_s=llm.deadline_s, max_attempts=llm.max_attempts,
                   backoff_s=llm.backoff_s, backoff_max_s=llm.backoff_max_s, breaker_s=llm.breaker_s)


@dataclass
class CircuitBreaker:
    """Shared by every call of a run: open once the provider has failed for `open_after_s`
    without one success (a provider down for minutes, not one unlucky request)."""

    open_after_s: float
    clock: Callable[[], float] = time.monotonic
    failing_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def success(self) -> None:
        with self._lock:
            self.failing_since = None

    def failure(self) -> None:
        with self._lock:
            if self.failing_since is None:
                self.failing_since = self.clock()

    @property
    def open(self) -> bool:
        with self._lock:
            return self.failing_since is not None and self.clock() - self.failing_since >= self.open_after_s

    def down_for_s(self) -> float:
        with self._lock:
            return 0.0 if self.failing_since is None else self.clock() - self.failing_since


def transient_kind(exc: BaseException) -> str | None:
    """The kind of a failure worth retrying, or None for one that is not."""
    import openai

    if isinstance(exc, MalformedReply) or isinstance(exc, openai.APIResponseValidationError):
        return "malformed reply"
    if isinstance(exc, openai.APITimeoutError):
        return "Timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, openai.APIError) and status_of(exc) in TRANSIENT_STATUS:
        return type(exc).__name__
    return None


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's Retry-After (seconds or an HTTP date; retry-after-ms first), if it sent one."""
    for headers in (getattr(getattr(exc, "response", None), "headers", None),
                    getattr(exc, "litellm_response_headers", None)):
        if not headers:
            continue
        lookup = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        try:
            if "retry-after-ms" in lookup:
                return max(0.0, float(lookup["retry-after-ms"]) / 1000)
            value = lookup.get("retry-after")
            if value is None:
                continue
            try:
                return max(0.0, float(value))
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:DETAIL_CHARS]}"


class RetryingCall:
    """One call with its attempts: `run(request)` where `request(timeout_s)` makes one attempt."""

    def __init__(self, policy: RetryPolicy, breaker: CircuitBreaker, label: str,
                 on_failed_attempt: Callable[[Attempt, bool], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`on_failed_attempt(attempt, retrying)` hears of every failed attempt: retrying is
        False for the last one of a call that gives up."""
        self.policy = policy
        self.breaker = breaker
        self.label = label
        self.on_failed_attempt = on_failed_attempt
        self.sleep = sleep
        self.attempts: list[Attempt] = []
        self.started = time.monotonic()
        self._retry_after: float | None = None

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def run(self, request: Callable[[float], T]) -> T:
        policy = self.policy
        backoff = wait_exponential_jitter(initial=policy.backoff_s, max=policy.backoff_max_s,
                                          jitter=policy.backoff_s)
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: transient_kind(exc) is not None),
            stop=(stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.deadline_s)
                  | self._breaker_open),
            wait=lambda state: max(backoff(state), self._retry_after or 0.0),
            before_sleep=self._before_sleep,
            sleep=self.sleep,
        )
        try:
            return retrying(self._attempt, request)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if self.on_failed_attempt is not None:
                self.on_failed_attempt(self.attempts[-1], False)
            raise ProviderUnavailable(self._give_up_message(last)) from None

    def _attempt(self, request: Callable[[float], T]) -> T:
        number = len(self.attempts) + 1
        remaining = self.policy.deadline_s - self.elapsed_s()
        timeout = max(0.5, min(self.policy.timeout_s, remaining))
        start = time.monotonic()
        try:
            result = request(timeout)
        except Exception as exc:
            kind = transient_kind(exc)
            self._retry_after = retry_after_s(exc)
            self.attempts.append(Attempt(number, round(time.monotonic() - start, 4), kind or type(exc).__name__,
                                         status_of(exc), describe(exc)))
            if kind is not None:
                self.breaker.failure()
            raise
        self.breaker.success()
        self.attempts.append(Attempt(number, round(time.monotonic() - start, 4)))
        return result

    def _breaker_open(self, state: RetryCallState) -> bool:
        return self.breaker.open

    def _before_sleep(self, state: RetryCallState) -> None:
        wait = float(state.upcoming_sleep or 0.0)
        self.attempts[-1] = replace(self.attempts[-1], wait_s=wait)
        if self.on_failed_attempt is not None:
            self.on_failed_attempt(self.attempts[-1], True)

    def _give_up_message(self, last: BaseException | None) -> str:
        count = len(self.attempts)
        if self.breaker.open:
            why = f"the provider has failed for {self.breaker.down_for_s():.0f} s (llm.breaker_s={self.policy.breaker_s:g})"
        elif count >= self.policy.max_attempts:
            why = f"llm.max_attempts={self.policy.max_attempts} reached"
        else:
            why = f"the next attempt would end past llm.deadline_s={self.policy.deadline_s:g}"
        last_text = describe(last) if last is not None else "no reply"
        return f"{self.label}: gave up after {count} attempts in {self.elapsed_s():.1f} s ({why}); last: {last_text}"
