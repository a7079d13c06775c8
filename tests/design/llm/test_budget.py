"""Budgets that hold: every call is checked against a reserved estimate before it is made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eureka.cli import cli
from eureka.design.llm.base import BudgetRefused, Completion, GenerationSettings, Message
from eureka.design.llm.budget import Budget, BudgetGuard, Pricing, estimate, pricing_problem, resolve_pricing
from tests.helpers import small_task

from .openai_server import OpenAIServer
from .test_chaos_run import GOOD_REPLIES

MESSAGES = [Message("user", "x" * 300)]


class CountingClient:
    model = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages: list[Message], settings: GenerationSettings) -> Completion:
        self.calls += 1
        return Completion("reply", self.model, prompt_tokens=100, completion_tokens=50)


def test_a_call_that_could_pass_the_limit_is_not_made() -> None:
    inner = CountingClient()
    budget = Budget(max_tokens=1000)
    guard = BudgetGuard(inner, budget, None)
    settings = GenerationSettings(max_tokens=200)
    need = estimate(MESSAGES, settings, None)
    assert need.tokens == 300 // 3 + 8 + 200
    while True:
        try:
            guard.complete(MESSAGES, settings)
        except BudgetRefused as exc:
            assert "tokens (estimate)" in str(exc)
            break
    assert inner.calls == budget.calls == 5  # 5 x 150 used; a 6th could need 308 more
    assert budget.tokens + need.tokens > 1000 >= budget.tokens
    assert budget.exhausted and budget.refused and budget.reserved_tokens == 0


def test_calls_are_priced_from_the_task_price() -> None:
    budget = Budget(max_cost_usd=1.0)
    guard = BudgetGuard(CountingClient(), budget, Pricing(1000.0, 2000.0, "task file"))
    completion = guard.complete(MESSAGES, GenerationSettings(max_tokens=100))
    assert completion.cost_usd == pytest.approx((100 * 1000 + 50 * 2000) / 1e6)
    assert budget.cost_usd == completion.cost_usd


def test_attributes_pass_through_to_the_wrapped_client() -> None:
    inner = CountingClient()
    guard = BudgetGuard(inner, Budget(), None)
    guard.listener = print
    assert inner.listener is print and guard.model == "counting"
    assert not hasattr(guard, "supports_prefill")


def test_prices_come_from_the_task_litellm_or_nowhere() -> None:
    class Price:
        input_per_mtok, output_per_mtok = 3.0, 15.0

    assert resolve_pricing("openai/anything", Price()).source == "task file"
    assert resolve_pricing("scripted:/tmp", None).source == "free"
    known = resolve_pricing("openai/gpt-4o-mini", None)
    assert known is not None and known.source == "litellm" and known.input_per_mtok > 0
    assert resolve_pricing("openai/no-such-model-anywhere", None) is None
    assert "llm.price" in pricing_problem("openai/no-such-model-anywhere", None, 1.0)
    assert pricing_problem("openai/no-such-model-anywhere", None, None) is None


def budget_task(tmp_path: Path, **fitness) -> Path:
    path = small_task(tmp_path, timesteps=2048)
    data = yaml.safe_load(path.read_text())
    data["search"].update(iterations=3, samples=2, max_repairs=1)
    data["fitness"].update(fitness)
    data["llm"] = {"price": {"input_per_mtok": 100.0, "output_per_mtok": 400.0}, "max_tokens": 400}
    path.write_text(yaml.safe_dump(data))
    return path


def reply_for(body: dict, number: int) -> str:
    if "review this reward function" in body["messages"][-1]["content"]:
        return "VERDICT: ACCEPT"
    return GOOD_REPLIES[number % len(GOOD_REPLIES)]


@pytest.mark.slow
@pytest.mark.parametrize("limit", [["--max-tokens", "6000"], ["--max-cost", "0.9"]], ids=["tokens", "cost"])
def test_a_run_stops_before_a_call_would_overspend(tmp_path: Path, sandbox_name: str, limit: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    with OpenAIServer(responder=reply_for) as server:
        monkeypatch.setenv("EUREKA_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = CliRunner().invoke(cli, ["run", str(budget_task(tmp_path)), "--model", "openai/budget-model",
                                          "--review", "--sandbox", sandbox_name, "--runs-dir", str(runs), *limit])
        requests = len(server.requests)
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    run = json.loads((run_dir / "run.json").read_text())
    usage = run["usage"]
    assert run["stop_reason"] == "budget" and usage["refused"]
    assert usage["tokens"] <= (usage["max_tokens"] or 10**9)
    assert usage["cost_usd"] <= (usage["max_cost_usd"] or 10**9)
    assert requests == usage["calls"] == len(list((run_dir / "llm").glob("*.json")))  # refused: never sent
    records = [json.loads(p.read_text()) for p in (run_dir / "llm").glob("*.json")]
    assert any(r["purpose"].endswith(":review0") for r in records)  # reviews are charged like the rest
    assert sum(r["completion"]["cost_usd"] for r in records) == pytest.approx(usage["cost_usd"])
    assert "stopped: budget" in result.output


@pytest.mark.slow
def test_the_stop_reason_is_the_one_that_fired_first(tmp_path: Path, sandbox_name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    with OpenAIServer(responder=reply_for) as server:
        monkeypatch.setenv("EUREKA_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        # the second sample's call is refused in generation 0; its training then reaches the target
        result = CliRunner().invoke(cli, ["run", str(budget_task(tmp_path, target=5)), "--model",
                                          "openai/budget-model", "--no-review", "--sandbox", sandbox_name,
                                          "--runs-dir", str(runs), "--max-tokens", "2000"])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    run = json.loads((run_dir / "run.json").read_text())
    kinds = [json.loads(line)["event"] for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert kinds.index("budget_refused") < kinds.index("target_reached")
    assert run["stop_reason"] == "budget"
