"""A whole `eureka run` through the real litellm client against a provider that fails every
other request (429 with Retry-After, 500, 503, a hang, malformed JSON, no choices) and answers
design requests with empty content, cut-off code or prose first; then an outage of every request
until the circuit breaker pauses the run (status waiting, exit 3), and `eureka resume` finishes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import small_task

from .openai_server import HANG, MALFORMED_JSON, NO_CHOICES, Fault, OpenAIServer, Reply

FAULTS = [Fault(429, retry_after=0.05), 500, Fault(503, retry_after=0.05), HANG, MALFORMED_JSON, NO_CHOICES]
BAD_REPLIES = [
    "",  # empty content
    "```python\nimport numpy as np\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
    "    upright = 1.0 - np.abs(next_obs[:, 2]) / (0.2",  # cut off by the token limit
    "Reward the agent for keeping the pole upright and the cart near the centre.",  # prose, no code
]
TERMS = {
    "alive": "np.where(terminated, -2.0, 1.0)",
    "upright": "1.0 - np.abs(next_obs[:, 2]) / 0.2095",
    "centred": "1.0 - np.abs(next_obs[:, 0]) / 2.4",
    "calm": "np.exp(-np.abs(next_obs[:, 3]))",
    "slow": "-np.square(next_obs[:, 1])",
    "cosine": "np.cos(next_obs[:, 2] * 4.0)",
}
MIXES = [("alive", "upright"), ("upright", "calm"), ("alive", "centred", "slow"), ("cosine", "calm"),
         ("alive", "cosine", "centred"), ("upright", "slow"), ("alive", "calm"), ("centred", "cosine")]


def reward_reply(names: tuple[str, ...]) -> str:
    lines = "".join(f"    {name} = {TERMS[name]}\n" for name in names)
    parts = ", ".join(f'"{name}": {name}' for name in names)
    return (f"Here is the reward.\n\n```python\nimport numpy as np\n\n"
            f"def compute_reward(obs, action, next_obs, terminated):\n{lines}"
            f"    total = {' + '.join(names)}\n    return total, {{{parts}}}\n```\n")


GOOD_REPLIES = [reward_reply(mix) for mix in MIXES]
OUTAGE_AFTER_GOOD_REPLIES = 3  # in the second generation


class ChaosProvider:
    """Every other request fails (cycling FAULTS); design requests get a bad reply, then a good
    one; the first review answers in prose (asked again: ACCEPT); after the third good reply the
    provider goes down (503 to everything) until `down` is cleared."""

    def __init__(self) -> None:
        self.faults = cycle(FAULTS)
        self.bad = cycle(BAD_REPLIES)
        self.good = iter(GOOD_REPLIES)
        self.designs = 0
        self.good_served = 0
        self.reviews = 0
        self.down = False
        self.outage_answers = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any], number: int) -> Reply:
        if self.down:
            self.outage_answers += 1
            return Fault(503)
        if number % 2 == 0:
            return next(self.faults)
        if "review this reward function" in body["messages"][-1]["content"]:
            self.reviews += 1
            return "It reads the pole angle and cart position; looks sensible." if self.reviews == 1 else \
                "VERDICT: ACCEPT"
        self.designs += 1
        if self.designs % 2:
            return next(self.bad)
        self.good_served += 1
        if self.good_served == OUTAGE_AFTER_GOOD_REPLIES:
            self.down = True
        return next(self.good)


def chaos_task(tmp_path: Path) -> Path:
    path = small_task(tmp_path, timesteps=2048)
    data = yaml.safe_load(path.read_text())
    data["search"].update(iterations=2, samples=2, max_repairs=2)
    data["llm"] = {"timeout_s": 1.0, "deadline_s": 60, "max_attempts": 20, "backoff_s": 0.01,
                   "backoff_max_s": 0.05, "breaker_s": 2.0}
    path.write_text(yaml.safe_dump(data))
    return path


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_run_rides_out_a_failing_provider_and_resumes_after_an_outage(tmp_path: Path, sandbox_name: str) -> None:
    provider = ChaosProvider()
    runs = tmp_path / "runs"
    with OpenAIServer(responder=provider, hang_s=3) as server:
        env = {**os.environ, "EUREKA_API_BASE": server.base_url, "OPENAI_API_KEY": "sk-test"}
        first = subprocess.run([sys.executable, "-m", "eureka", "run", str(chaos_task(tmp_path)), "--model",
                                "openai/chaos-model", "--review", "--sandbox", sandbox_name, "--runs-dir", str(runs)],
                               capture_output=True, text=True, timeout=400, env=env)
        assert first.returncode == 3, first.stderr[-3000:]
        (run_dir,) = runs.glob("*-cartpole-*")
        assert f"eureka resume {run_dir}" in first.stderr and "Traceback" not in first.stderr
        waiting = json.loads((run_dir / "run.json").read_text())
        assert (waiting["status"], waiting["stop_reason"]) == ("waiting", "provider unavailable")
        assert provider.outage_answers > 2

        provider.down = False  # the provider is back
        resumed = subprocess.run([sys.executable, "-m", "eureka", "resume", str(run_dir)],
                                 capture_output=True, text=True, timeout=400, env=env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        answers = list(server.answers)

    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["stop_reason"] == "completed"
    assert [it["iteration"] for it in run["iterations"]] == [0, 1]
    assert run["best"] is not None and run["best"]["fitness"] is not None
    assert (run_dir / "best" / "reward.py").is_file()

    # every failed request is on record: one event per failed attempt
    log = events(run_dir)
    failed = [e for e in log if e["event"] in ("llm_retry", "llm_gave_up")]
    served_faults = [a for a in answers if not isinstance(a, str) or a == HANG]
    assert len(failed) == len(served_faults)
    kinds = {e["error"] for e in failed}
    assert {"RateLimitError", "InternalServerError", "ServiceUnavailableError", "Timeout",
            "malformed reply"} <= kinds
    assert all(e["wait_s"] >= 0.05 for e in failed if e["status"] == 429)  # Retry-After: 0.05
    assert [e["event"] for e in log].count("llm_gave_up") == 1  # the outage, once
    assert any(e["event"] == "run_waiting" for e in log)

    # and in each call's record: its attempts, the last one the reply, the latency of them all
    records = [json.loads(p.read_text()) for p in sorted((run_dir / "llm").glob("*.json"))]
    retried = 0
    for record in records:
        attempts = record["completion"]["attempts"]
        assert attempts[-1]["outcome"] == "ok"
        assert record["completion"]["latency_s"] >= sum(a["latency_s"] for a in attempts) - 1e-6
        retried += len(attempts) - 1
    gave_up_at = next(i for i, e in enumerate(log) if e["event"] == "llm_gave_up")
    outage_retries = 0
    while log[gave_up_at - 1 - outage_retries]["event"] == "llm_retry":
        outage_retries += 1
    assert retried + outage_retries == len([e for e in log if e["event"] == "llm_retry"])
    assert retried > 0

    # empty, cut-off and prose replies got repair prompts; the review without a verdict was asked again
    purposes = [r["purpose"] for r in records]
    assert any(p.endswith(":repair1") for p in purposes)
    assert any(p.endswith("-again") for p in purposes)
    problems = " ".join(" ".join(a["problems"]) for c in run_dir.glob("iter_*/cand_*/critic.json")
                        for a in json.loads(c.read_text())["attempts"])
    assert "no ```python code block" in problems
