"""Novelty, pre-filter and budget stops inside a real `eureka run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from click.testing import CliRunner

from eureka.cli import cli

from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]


def tiny_task(tmp_path: Path) -> Path:
    return small_task(tmp_path, timesteps=2048)


def run_eureka(tmp_path: Path, sandbox_name: str, *extra: str) -> tuple[int, str, Path]:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(tiny_task(tmp_path)), "--model",
                                      f"scripted:{ROOT / 'tests/data/scripted/cartpole_filters'}",
                                      "--sandbox", sandbox_name, "--runs-dir", str(runs), *extra])
    (run_dir,) = runs.glob("*-cartpole-*")
    return result.exit_code, result.output, run_dir


@pytest.mark.slow
def test_duplicates_and_wrong_rankings_are_not_trained(tmp_path: Path, sandbox_name: str) -> None:
    code, output, run_dir = run_eureka(tmp_path, sandbox_name, "--iterations", "1", "--samples", "4")
    assert code == 0, output
    run = json.loads((run_dir / "run.json").read_text())
    assert run["filters"] == {"same_program": 1, "same_reward": 1, "ranking": 1}
    statuses = {p.parent.name: json.loads(p.read_text())["status"] for p in run_dir.glob("iter_0/cand_*/candidate.json")}
    assert statuses == {"cand_0": "trained", "cand_1": "duplicate", "cand_2": "duplicate", "cand_3": "trained"}
    dup = json.loads((run_dir / "iter_0/cand_1/candidate.json").read_text())
    assert dup["duplicate_of"] == "i0-c0" and "same program" in dup["problems"][0]
    assert not (run_dir / "iter_0/cand_1/metrics.json").exists()
    critic = json.loads((run_dir / "iter_0/cand_3/critic.json").read_text())
    assert critic["attempts"][0]["stage"] == "ranking"
    assert "ranks the episodes that do worse" in critic["attempts"][0]["problems"][0]
    assert critic["accepted"] is True  # the repair fixed it
    assert "trainings saved by filters" in output


@pytest.mark.slow
def test_token_budget_stops_cleanly_with_results_kept(tmp_path: Path, sandbox_name: str) -> None:
    # a call reserves ~2,700 tokens (the prompt at 3 characters a token + max_tokens): one fits, a second not
    code, output, run_dir = run_eureka(tmp_path, sandbox_name, "--iterations", "3", "--samples", "4", "--max-tokens", "3000")
    assert code == 0, output
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["stop_reason"] == "budget"
    assert len(run["iterations"]) == 1
    assert run["usage"]["tokens"] <= 3000 and run["usage"]["calls"] == 1 and run["usage"]["refused"]
    assert (run_dir / "best" / "reward.py").is_file()
    assert "budget reached" in output and "stopped: budget" in output


@pytest.mark.slow
def test_llm_review_sends_a_semantically_wrong_reward_back(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(tiny_task(tmp_path)), "--model",
                                      f"scripted:{ROOT / 'tests/data/scripted/cartpole_review'}", "--review",
                                      "--iterations", "1", "--samples", "1", "--sandbox", sandbox_name,
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    critic = json.loads((run_dir / "iter_0/cand_0/critic.json").read_text())
    first, second = critic["attempts"]
    assert first["stage"] == "review" and not first["accepted"]
    assert "wrong sign" in first["problems"][0]
    assert second["accepted"] and second["review"] == ["accepted"]
    purposes = [json.loads(p.read_text())["purpose"] for p in sorted((run_dir / "llm").glob("*.json"))]
    assert purposes == ["i0-c0:design", "i0-c0:review0", "i0-c0:repair1", "i0-c0:review1"]
    repair = json.loads(sorted((run_dir / "llm").glob("*.json"))[2].read_text())
    assert "wrong sign" in repair["messages"][-1]["content"]
    assert json.loads((run_dir / "run.json").read_text())["filters"]["review"] == 1


def test_parse_review() -> None:
    from eureka.critic.checks import parse_review

    assert parse_review("Looks fine.\nVERDICT: ACCEPT").accepted
    rejected = parse_review("**VERDICT: REJECT**\n- sign error\n* unit mismatch")
    assert not rejected.accepted and rejected.reasons == ["sign error", "unit mismatch"]
    unparsed = parse_review("I think it is good")
    assert not unparsed.accepted and not unparsed.parsed and "no VERDICT line" in unparsed.reasons[0]
    assert not parse_review("").accepted
    assert not parse_review("VERDICT: ACCEPT or VERDICT: REJECT").parsed


@pytest.mark.slow
def test_constant_tuning_trains_variants_and_keeps_the_best(tmp_path: Path, sandbox_name: str) -> None:
    task = small_task(tmp_path, timesteps=20000, source=ROOT / "tasks" / "cartpole.yaml",  # the jax backend
                      eval_episodes=3, seeds=[0])
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(task), "--model", f"scripted:{ROOT / 'tests/data/scripted/cartpole_tuning'}",
                                      "--iterations", "1", "--samples", "1", "--tune", "6", "--sandbox", sandbox_name,
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    metrics = json.loads((run_dir / "iter_0/cand_0/metrics.json").read_text())
    rows = metrics["constant_tuning"]["variants"]
    assert len(rows) == 7  # as written + one constant x0.3 or x3 at a time, for 3 constants
    assert {tuple(r["constants"]) for r in rows[1:]} == {("W_ALIVE",), ("W_FALL",), ("W_UPRIGHT",)}
    fitnesses = [r["fitness"] for r in rows]
    assert all(f is not None for f in fitnesses)
    assert metrics["fitness"] == max(fitnesses)
    winner = metrics["constant_tuning"]["winner"]
    code = (run_dir / "iter_0/cand_0/reward.py").read_text()
    if winner == "as written":
        assert not (run_dir / "iter_0/cand_0/reward_as_written.py").exists()
    else:
        winning = next(r for r in rows if r["label"] == winner)
        name, value = next(iter(winning["constants"].items()))
        assert f"{name} = {value!r}" in code
    assert "Constant tuning tried 6 variants" in metrics["reflection"]
    # the jax backend records a rollout video of the trained policy (rendered by Gymnasium)
    video = json.loads((run_dir / "iter_0/cand_0/rollout_seed0.json").read_text())
    assert video["ok"] and video["frames"] > 1, video
    assert (run_dir / "iter_0/cand_0/rollout_seed0.mp4").stat().st_size > 1000
    # and its greedy episodes, for the next generation's pre-filter
    from eureka.loop.database import TrajectoryPool
    from eureka.envs.base import Transitions

    rollouts = Transitions.load(run_dir / "iter_0/cand_0/rollouts_seed0.npz")
    assert 0 < len(rollouts) <= 1024 and rollouts.obs.shape[1] == 4
    assert rollouts.terminated[-1] or rollouts.truncated[-1]
    pool = TrajectoryPool(rollouts)
    assert pool.add_from_dir("i0-c0", run_dir / "iter_0/cand_0")


@pytest.mark.slow
def test_spec_mode_compiles_a_spec_reply_into_a_trained_reward(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(tiny_task(tmp_path)), "--mode", "spec", "--model",
                                      f"scripted:{ROOT / 'tests/data/scripted/cartpole_spec'}",
                                      "--iterations", "1", "--samples", "1", "--sandbox", sandbox_name,
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    critic = json.loads((run_dir / "iter_0/cand_0/critic.json").read_text())
    assert [a["accepted"] for a in critic["attempts"]] == [False, True]
    assert critic["attempts"][0]["stage"] == "extract"
    code = (run_dir / "iter_0/cand_0/reward.py").read_text()
    assert "def compute_reward(obs, action, next_obs, terminated):" in code
    assert "W_" in code and "closeness" in code
    metrics = json.loads((run_dir / "iter_0/cand_0/metrics.json").read_text())
    assert metrics["fitness"] is not None
    first_call = json.loads(sorted((run_dir / "llm").glob("*.json"))[0].read_text())
    assert "pole_angle" in first_call["messages"][1]["content"]  # quantities from the task's own layout


@pytest.mark.slow
def test_structural_edits_of_the_parent_spec_train_beside_the_models_children(tmp_path: Path,
                                                                               sandbox_name: str) -> None:
    """Generation 1's reply copies its parent (a duplicate, not trained); the structural edits
    eureka makes of the parent (a flipped direction first) are checked and trained instead, one
    more than asked for in the place of the duplicate."""
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(tiny_task(tmp_path)), "--mode", "spec", "--model",
                                      f"scripted:{ROOT / 'tests/data/scripted/cartpole_spec_edits'}",
                                      "--iterations", "2", "--samples", "1", "--edits", "2", "--tune", "0",
                                      "--sandbox", sandbox_name, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    assert json.loads((run_dir / "iter_0/cand_0/candidate.json").read_text())["status"] == "trained"
    assert not (run_dir / "iter_0/cand_1").exists()  # no parent to edit in the first generation
    copy = json.loads((run_dir / "iter_1/cand_0/candidate.json").read_text())
    assert copy["status"] == "duplicate" and copy["edit"] is None
    edits = [json.loads((run_dir / f"iter_1/cand_{i}/candidate.json").read_text()) for i in (1, 2)]
    assert [e["parent_id"] for e in edits] == ["i0-c0", "i0-c0"]
    assert edits[0]["edit"] == "term 1 (progress_abs_pole_angle): toward higher instead of lower"
    assert edits[1]["edit"] and "instead of" in edits[1]["edit"] or edits[1]["edit"].startswith(("drop", "add"))
    flipped = json.loads((run_dir / "iter_1/cand_1/reply.md").read_text())
    assert flipped["terms"][0]["toward"] == "higher"
    for i, edit in zip((1, 2), edits):
        critic = json.loads((run_dir / f"iter_1/cand_{i}/critic.json").read_text())
        assert critic["edit"] == edit["edit"]
        if critic["accepted"]:  # every accepted edit was trained in the generation
            assert edit["status"] == "trained" and edit["fitness"] is not None
        else:
            assert edit["status"] == "rejected" and edit["problems"]
    later = [json.loads(p.read_text()) for p in run_dir.glob("iter_1/cand_*/candidate.json")]
    assert all(c["edit"] and c["parent_id"] == "i0-c0" for c in later if c["id"] != copy["id"])
    assert sum(c["status"] == "trained" for c in later) == 3  # 2 edits, plus 1 for the copy's place
    run = json.loads((run_dir / "run.json").read_text())
    assert run["settings"]["edits"] == 2
    assert "edit of the parent" in result.output
    best = json.loads((run_dir / run["best"]["directory"] / "candidate.json").read_text())
    if best["edit"]:  # the summary says the best reward is eureka's edit, not the model's
        assert f"structural edit of i0-c0: {best['edit']}" in " ".join(result.output.split())
    report = CliRunner().invoke(cli, ["report", str(run_dir)])
    assert report.exit_code == 0, report.output
    page = (run_dir / "report.html").read_text()
    assert "eureka's edit: term 1 (progress_abs_pole_angle): toward higher instead of lower" in page


@pytest.mark.slow
def test_a_run_that_misses_its_target_closes_with_the_best_specs_weights_and_widths(tmp_path: Path,
                                                                                     sandbox_name: str) -> None:
    """Structured mode without constant tuning: after the last generation misses the target, one
    more generation trains the best spec (closeness to an upright pole, keep the cart near the
    centre) with one weight or width a level up or down, up to as many as a generation trains
    (1 sample + 2 edits; a change the novelty filter finds to be the same reward leaves its
    place to the next); `--no-tune-best` and a reached target end the run."""
    import yaml

    def run_with(target: float, *extra: str) -> tuple[Path, dict]:
        task = tiny_task(tmp_path)
        data = yaml.safe_load(task.read_text())
        data["fitness"]["target"] = target
        task.write_text(yaml.safe_dump(data))
        runs = tmp_path / f"runs{target}{''.join(extra)}"
        result = CliRunner().invoke(cli, ["run", str(task), "--mode", "spec", "--model",
                                          f"scripted:{ROOT / 'tests/data/scripted/cartpole_tune_best'}",
                                          "--iterations", "1", "--samples", "1", "--edits", "2", "--tune", "0",
                                          "--sandbox", sandbox_name, "--runs-dir", str(runs), *extra])
        assert result.exit_code == 0, result.output
        (run_dir,) = runs.glob("*-cartpole-*")
        return run_dir, json.loads((run_dir / "run.json").read_text())

    run_dir, run = run_with(1e9)
    assert run["settings"]["tune_best"] is True and run["stop_reason"] == "completed"
    assert [i["iteration"] for i in run["iterations"]] == [0, 1]
    parent = json.loads((ROOT / "tests/data/scripted/cartpole_tune_best/01_two_terms.md").read_text())
    tuned = [json.loads(p.read_text()) for p in sorted(run_dir.glob("iter_1/cand_*/candidate.json"))]
    trained = sum(c["status"] == "trained" for c in tuned)
    assert {c["status"] for c in tuned} <= {"trained", "duplicate"} and trained >= 1
    assert trained == 3 or len(tuned) == 6  # every weight and width was tried before fewer than 3 trained
    for candidate in tuned:
        assert candidate["parent_id"] == "i0-c0" and candidate["edit"].split(": ")[1].startswith(("weight", "width"))
        spec = json.loads((run_dir / candidate["directory"] / "reply.md").read_text())
        changed = [(a, b) for a, b in zip(parent["terms"], spec["terms"]) if a != b]
        assert len(spec["terms"]) == 2 and len(changed) == 1
        assert len({k for k in changed[0][0] if changed[0][0][k] != changed[0][1][k]} & {"weight", "width"}) == 1
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["tuning"] for e in events if e["event"] == "generation_started"] == [False, True]

    _, run = run_with(1e9, "--no-tune-best")
    assert run["settings"]["tune_best"] is False and len(run["iterations"]) == 1
    _, run = run_with(-1e9)
    assert run["stop_reason"] == "target" and len(run["iterations"]) == 1
