"""Both designers in one population (structured mode with --code-share): spec samples and free-form
code samples are checked, trained and selected alike, and run.json says which designer wrote the
best reward. Scripted replies in name order: per generation the spec sample, then the code one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli
from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests" / "data" / "scripted"


def mixed_run(tmp_path: Path, sandbox_name: str, replies: str, *extra: str) -> tuple[str, Path]:
    runs = tmp_path / "runs"
    # --no-selection: the losing reward trains too, so that the fitness, not a filter, decides
    result = CliRunner().invoke(cli, ["run", str(small_task(tmp_path, timesteps=4096)), "--mode", "spec",
                                      "--model", f"scripted:{SCRIPTED / replies}", "--iterations", "2",
                                      "--samples", "2", "--edits", "0", "--no-selection", "--sandbox", sandbox_name,
                                      "--runs-dir", str(runs), *extra])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    return result.output, run_dir


def candidate(run_dir: Path, iteration: int, index: int) -> dict:
    return json.loads((run_dir / f"iter_{iteration}/cand_{index}/candidate.json").read_text())


def request(run_dir: Path, candidate_id: str) -> list[dict]:
    """The messages of a candidate's design request (llm/NNNN.json)."""
    for path in sorted((run_dir / "llm").glob("*.json")):
        record = json.loads(path.read_text())
        if record["purpose"] == f"{candidate_id}:design":
            return record["messages"]
    raise AssertionError(f"no design request of {candidate_id}")


@pytest.mark.slow
def test_a_repaired_free_form_sample_beats_the_specs_and_run_json_says_code(tmp_path: Path,
                                                                            sandbox_name: str) -> None:
    output, run_dir = mixed_run(tmp_path, sandbox_name, "cartpole_mixed_code_wins", "--code-share", "0.5")
    spec, code = candidate(run_dir, 0, 0), candidate(run_dir, 0, 1)
    assert (spec["designer"], code["designer"]) == ("spec", "code")
    assert spec["status"] == code["status"] == "trained"
    assert code["fitness"] > spec["fitness"]
    critic = json.loads((run_dir / "iter_0/cand_1/critic.json").read_text())
    assert critic["accepted"] and any("`math.cos` as `np.cos`" in fix for fix in critic["attempts"][0]["fixes"])
    assert "np.cos(" in (run_dir / "iter_0/cand_1/reward.py").read_text()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["settings"]["code_share"] == 0.5
    assert (run["best"]["candidate"], run["best"]["designer"]) == ("i0-c1", "code")
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert {"spec": 1, "code": 1} == next(e for e in events if e["event"] == "generation_started")["designers"]
    verdicts = {e["candidate"]: e["designer"] for e in events if e["event"] == "critic_verdict"}
    assert verdicts["i0-c0"] == "spec" and verdicts["i0-c1"] == "code"
    assert next(e for e in events if e["event"] == "new_best")["designer"] == "code"
    assert "designer: code" in " ".join(output.split())
    # generation 1: the code designer continues the best (free-form code), the spec designer the best
    # spec it can show as its own reply; each sample of it is asked under its own designer's prompt
    assert candidate(run_dir, 1, 1)["parent_id"] == "i0-c1" and candidate(run_dir, 1, 0)["parent_id"] == "i0-c0"
    spec_turn, code_turn = request(run_dir, "i1-c0")[2]["content"], request(run_dir, "i1-c1")[2]["content"]
    assert json.loads(spec_turn)["terms"][0]["toward"] == "higher"
    assert code_turn == (SCRIPTED / "cartpole_mixed_code_wins/02_code_math_on_arrays.md").read_text()

    from eureka.app import open_run  # a resumed run keeps which designer wrote the best

    search = open_run(run_dir, sandbox=sandbox_name)
    assert search.selection.elite.record.designer == "code"
    search.write_run_json("finished")
    assert json.loads((run_dir / "run.json").read_text())["best"]["designer"] == "code"


@pytest.mark.slow
def test_a_spec_beats_the_free_form_sample_which_sees_the_spec_parent_as_code(tmp_path: Path,
                                                                               sandbox_name: str) -> None:
    output, run_dir = mixed_run(tmp_path, sandbox_name, "cartpole_mixed_spec_wins", "--code-share", "0.25")
    spec, code = candidate(run_dir, 0, 0), candidate(run_dir, 0, 1)
    assert (spec["designer"], code["designer"]) == ("spec", "code")
    assert spec["fitness"] > code["fitness"]
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["best"]["candidate"], run["best"]["designer"]) == ("i0-c0", "spec")
    assert "designer: spec" in " ".join(output.split())
    # the code designer's next prompt shows the spec parent as the code it compiled to
    assert candidate(run_dir, 1, 1)["parent_id"] == "i0-c0"
    turn = request(run_dir, "i1-c1")[2]["content"]
    compiled = (run_dir / "iter_0/cand_0/reward.py").read_text().strip()
    assert turn == f"```python\n{compiled}\n```"
    assert "def compute_reward" in turn and "Spec: {" in turn


@pytest.mark.slow
def test_no_code_share_asks_only_for_specs(tmp_path: Path, sandbox_name: str) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(small_task(tmp_path, timesteps=1024)), "--mode", "spec",
                                      "--model", f"scripted:{SCRIPTED / 'cartpole_mixed_spec_wins'}",
                                      "--iterations", "1", "--samples", "2", "--edits", "0", "--code-share", "0",
                                      "--sandbox", sandbox_name, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    # the second sample is asked as a spec too: the code reply is no spec, and its repair (the next
    # reply) is a copy of the first spec
    assert candidate(run_dir, 0, 0)["designer"] == candidate(run_dir, 0, 1)["designer"] == "spec"
    critic = json.loads((run_dir / "iter_0/cand_1/critic.json").read_text())
    assert critic["attempts"][0]["stage"] == "extract" and candidate(run_dir, 0, 1)["status"] == "duplicate"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert next(e for e in events if e["event"] == "generation_started")["designers"] == {"spec": 2}
    assert json.loads((run_dir / "run.json").read_text())["best"]["designer"] == "spec"
