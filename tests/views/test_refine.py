"""`eureka refine RUN --feedback FILE` on a scripted run: feedback reaches the run directory,
the lineage and the next generation's prompt, and the next generations run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eureka.views.refine import FeedbackError, FeedbackRound, RefineSession, load_feedback_file, parse_ranking

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted" / "cartpole_refine"
PERSON_REWARD = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    alive = np.where(terminated, -1.0, 1.0)
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    centred = 1.0 / (1.0 + next_obs[:, 0] ** 2)
    return alive + upright + centred, {"alive": alive, "upright": upright, "centred": centred}
"""
_FINISHED: dict[str, Path] = {}


def eureka(*args: str) -> list[str]:
    return [sys.executable, "-m", "eureka", *args]


def finished_run(tmp_path_factory: pytest.TempPathFactory, sandbox_name: str, into: Path) -> Path:
    """A copy (under `into`) of one finished scripted run: 1 generation of 2 trained candidates."""
    if sandbox_name not in _FINISHED:
        base = tmp_path_factory.mktemp("scripted-run")
        task = yaml.safe_load((ROOT / "tests" / "data" / "tasks" / "cartpole_gymnasium.yaml").read_text())
        task["training"]["timesteps"] = 1024
        task["fitness"].pop("target")  # no early stop
        task["fitness"]["eval_episodes"] = 2
        task.pop("baselines")
        (base / "cartpole.yaml").write_text(yaml.safe_dump(task))
        subprocess.run(eureka("run", str(base / "cartpole.yaml"), "--model", f"scripted:{SCRIPTED}",
                              "--iterations", "1", "--samples", "2", "--sandbox", sandbox_name,
                              "--runs-dir", str(base / "runs")), check=True, capture_output=True, timeout=200)
        (_FINISHED[sandbox_name],) = (base / "runs").glob("*-cartpole-*")
    source = _FINISHED[sandbox_name]
    return Path(shutil.copytree(source, into / source.name))


def candidate(run_dir: Path, cid: str) -> dict:
    iteration, index = cid.removeprefix("i").split("-c")
    return json.loads((run_dir / f"iter_{iteration}" / f"cand_{index}" / "candidate.json").read_text())


def prompts_of(run_dir: Path, iteration: int) -> list[list[dict]]:
    calls = [json.loads(p.read_text()) for p in sorted((run_dir / "llm").glob("*.json"))]
    return [c["messages"] for c in calls if c["purpose"].startswith(f"i{iteration}-")]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_refine_with_a_feedback_file_runs_the_next_generations(tmp_path, tmp_path_factory, sandbox_name) -> None:
    run_dir = finished_run(tmp_path_factory, sandbox_name, tmp_path)
    trained = sorted((json.loads(p.read_text()) for p in run_dir.glob("iter_0/cand_*/candidate.json")),
                     key=lambda c: c["fitness"])
    assert [c["status"] for c in trained] == ["trained", "trained"]
    worst_first = [c["id"] for c in trained]  # rank the fitter one last: the person's taste decides
    comment = 'the other one drifts to the left <b>"wobbly"</b>\nand it overshoots'
    (tmp_path / "mine.py").write_text(PERSON_REWARD)
    feedback_file = tmp_path / "rounds.yaml"
    feedback_file.write_text(yaml.safe_dump({"rounds": [
        {"ranking": worst_first, "text": comment},
        {"reward_file": "mine.py", "text": "smoother centring"},
    ]}))

    done = subprocess.run(eureka("refine", str(run_dir), "--feedback", str(feedback_file), "--sandbox", sandbox_name),
                          capture_output=True, text=True, timeout=380, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "round 2/2: reward feedback" in done.stderr

    # the raw rounds, what they led to
    first = json.loads((run_dir / "feedback" / "0001.json").read_text())
    assert first["kind"] == "ranking" and first["source"] == f"file:{feedback_file}"
    assert first["input"]["ranking"] == worst_first and first["input"]["text"] == comment.strip()
    assert first["parent"] == worst_first[0] and first["status"] == "finished"
    assert first["iterations"] == [1] and first["children"] == ["i1-c0", "i1-c1"]
    second = json.loads((run_dir / "feedback" / "0002.json").read_text())
    assert second["kind"] == "reward" and second["human_candidate"] == "i2-c0" and second["parent"] == "i2-c0"
    assert second["input"]["reward_code"] == PERSON_REWARD and second["children"] == ["i3-c0", "i3-c1"]

    # run.json, through Search.add_feedback
    run = json.loads((run_dir / "run.json").read_text())
    assert [(f["kind"], f["parent"], f["before_iteration"]) for f in run["feedback"]] == [
        ("ranking", worst_first[0], 1), ("reward", "i2-c0", 3)]
    assert [it["candidates"] for it in run["iterations"]] == [2, 2, 1, 2]

    # the lineage: the ranked-first parents generation 1; the person's reward parents generation 3
    assert {candidate(run_dir, f"i1-c{j}")["parent_id"] for j in (0, 1)} == {worst_first[0]}
    assert candidate(run_dir, "i1-c0")["feedback"] == first["prompt_feedback"]
    person = candidate(run_dir, "i2-c0")
    assert person["status"] == "trained" and person["fitness"] is not None
    assert (run_dir / "iter_2" / "cand_0" / "reward.py").read_text() == PERSON_REWARD
    assert json.loads((run_dir / "iter_2" / "cand_0" / "human.json").read_text())["feedback_round"] == 2
    assert {candidate(run_dir, f"i3-c{j}")["parent_id"] for j in (0, 1)} == {"i2-c0"}

    # the prompts: the ranked-first reply as the previous reward, the ranking and comment quoted
    parent_dir = run_dir / "iter_0" / f"cand_{worst_first[0].split('-c')[1]}"
    for messages in prompts_of(run_dir, 1):
        assert messages[2] == {"role": "assistant", "content": (parent_dir / "reply.md").read_text()}
        user = messages[3]["content"]
        assert f"> 1. {worst_first[0]}: task score" in user and f"> 2. {worst_first[1]}: task score" in user
        assert '> Their comment: the other one drifts to the left <b>"wobbly"</b>\n> and it overshoots' in user
    for messages in prompts_of(run_dir, 3):
        assert PERSON_REWARD.strip() in messages[2]["content"]
        assert "> A person rewrote the reward function themselves" in messages[3]["content"]
        assert "> Their comment: smoother centring" in messages[3]["content"]
    assert not prompts_of(run_dir, 2)  # the person's generation asked no model

    # every trained candidate has its rollout video from the sandboxed train job
    for path in run_dir.glob("iter_*/cand_*/candidate.json"):
        video = json.loads((path.parent / "rollout_seed0.json").read_text())
        assert video["ok"] and video["frames"] > 1, video
        assert (path.parent / "rollout_seed0.mp4").stat().st_size > 1000


@pytest.mark.timeout(300)
def test_a_rejected_person_reward_runs_no_generation(tmp_path, tmp_path_factory, sandbox_name) -> None:
    run_dir = finished_run(tmp_path_factory, sandbox_name, tmp_path)
    (tmp_path / "bad.py").write_text("import os\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
                                     "    return os.getpid(), {}\n")
    (tmp_path / "rounds.json").write_text(json.dumps([{"reward_file": "bad.py"}]))
    llm_before = len(list((run_dir / "llm").glob("*.json")))

    done = subprocess.run(eureka("refine", str(run_dir), "--feedback", str(tmp_path / "rounds.json"),
                                 "--sandbox", sandbox_name), capture_output=True, text=True, timeout=200)

    assert done.returncode == 1
    assert "import of 'os' is not allowed" in done.stderr and "could not be used" in done.stderr
    record = json.loads((run_dir / "feedback" / "0001.json").read_text())
    assert record["status"] == "rejected" and any("'os'" in p for p in record["problems"])
    assert candidate(run_dir, "i1-c0")["status"] == "rejected"  # kept in the lineage, not trained
    assert len(list((run_dir / "llm").glob("*.json"))) == llm_before
    run = json.loads((run_dir / "run.json").read_text())
    assert [it["accepted"] for it in run["iterations"]] == [2, 0] and run["feedback"] == []


def test_a_text_round_is_recorded_and_handed_to_continue_run(tmp_path, tmp_path_factory, sandbox_name,
                                                             monkeypatch) -> None:
    run_dir = finished_run(tmp_path_factory, sandbox_name, tmp_path)
    calls = []

    def fake_continue_run(run_dir_arg, feedback, **kwargs):
        calls.append((run_dir_arg, feedback, kwargs))
        from eureka.loop.search import RunResult

        return RunResult(store=None, iterations=[], best=None)  # type: ignore[arg-type]

    monkeypatch.setattr("eureka.app.continue_run", fake_continue_run)
    result = RefineSession(run_dir, sandbox="none").apply(FeedbackRound(text="  it drifts to the left  "))

    assert calls == [(run_dir, ["it drifts to the left"],
                      {"iterations": 1, "parent": None, "kind": "text", "listener": None, "sandbox": "none"})]
    record = json.loads(result.record.read_text())
    assert record["kind"] == "text" and record["prompt_feedback"] == ["it drifts to the left"]
    assert record["status"] == "finished" and record["source"] == "terminal"
    assert [s["candidate"] for s in record["shown"]] == [c.id for c in RefineSession(run_dir).elites()]


def test_bad_input_is_refused_before_any_work(tmp_path, tmp_path_factory, sandbox_name) -> None:
    run_dir = finished_run(tmp_path_factory, sandbox_name, tmp_path)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("- ranking: [i0-c0, i9-c9]\n")
    done = subprocess.run(eureka("refine", str(run_dir), "--feedback", str(unknown), "--sandbox", "none"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "i9-c9" in done.stderr
    assert not list((run_dir / "feedback").glob("0*.json"))

    no_tty = subprocess.run(eureka("refine", str(run_dir)), capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert no_tty.returncode == 2 and "--feedback FILE" in no_tty.stderr

    missing = subprocess.run(eureka("refine", str(tmp_path / "nope"), "--feedback", str(unknown)),
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no such run directory" in missing.stderr


@pytest.mark.parametrize("text, problem", [
    ("rounds: []", "non-empty list"),
    ("- {}", "needs text, a ranking or a reward_file"),
    ("- ranking: [i0-c0, i0-c0]", "appears twice"),
    ("- {ranking: [i0-c0], reward_file: r.py}", "not both"),
    ("- reward_file: absent.py", "absent.py not found"),
    ("- reward_code: 'x = 1'", "give reward_file"),
    ("- {text: hi, colour: red}", "colour"),
    ("- text: [unclosed", "not valid YAML"),
])
def test_feedback_file_errors_name_the_round_and_reason(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "rounds.yaml"
    path.write_text(text)
    with pytest.raises(FeedbackError, match="rounds.yaml") as info:
        load_feedback_file(path)
    assert problem in str(info.value)


def test_feedback_file_forms(tmp_path: Path) -> None:
    (tmp_path / "r.py").write_text(PERSON_REWARD)
    path = tmp_path / "rounds.json"
    path.write_text(json.dumps(["plain text", {"ranking": ["i0-c1", "i0-c0"], "iterations": 2},
                                {"reward_file": "r.py", "text": "mine"}]))
    rounds = load_feedback_file(path)
    assert [r.kind for r in rounds] == ["text", "ranking", "reward"]
    assert rounds[1].iterations == 2 and rounds[2].reward_code == PERSON_REWARD
    assert rounds[2].reward_file == tmp_path / "r.py"


def test_parse_ranking_takes_numbers_or_ids() -> None:
    class Shown:
        def __init__(self, cid: str) -> None:
            self.id = cid

    shown = [Shown("i1-c0"), Shown("i0-c1"), Shown("i0-c0")]
    assert parse_ranking("2 1 3", shown) == ["i0-c1", "i1-c0", "i0-c0"]  # type: ignore[arg-type]
    assert parse_ranking("i0-c0, 1", shown) == ["i0-c0", "i1-c0"]  # type: ignore[arg-type]
    with pytest.raises(FeedbackError, match="between 1 and 3"):
        parse_ranking("4 1", shown)  # type: ignore[arg-type]
