"""Candidates that go for their own score, through the real training path and `eureka run`.

Corpus (tests/sandbox/corpus/): a reward that trains on a constant 0 and forges its result
(patching the job's result writer through numpy's module attributes, an atexit handler, a
forked watcher); a reward that behaves in the critic's probe and not in training (told
apart by sys.argv); on jax, a reward that overwrites the other candidates' files. Each is
trained and scored by what its policy really does (the clean evaluation job), or rejected,
and the run finishes. Under each real sandbox (bwrap, docker); never skipped silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eureka.cli import cli
from eureka.envs import space_info
from eureka.task import load_task
from eureka.training.evaluation import gym_episodes
from eureka.training.policy import expected_arch, load_snapshots
from eureka.training.runner import CandidateCode, TrainingRunner
from tests.helpers import small_task

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]
FORGERIES = ("fake_fitness_patch", "fake_fitness_atexit", "fake_fitness_fork")
UNTRAINED = 100  # CartPole: a greedy policy that learned nothing falls within ~10-60 steps; solved is 500
GOOD = (ROOT / "tasks" / "rewards" / "numpy" / "cartpole_human.py").read_text()


class Recording:
    """Wraps a sandbox to keep each job's raw result, to show the forgery did happen."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.raw: dict[str, list] = {}

    def run(self, job):
        result = self.inner.run(job)
        self.raw.setdefault(job.module, []).append(result.result)
        return result


def fitness_values(outcome) -> list[float]:
    return [v for m in outcome.members for v in [m.fitness, *(c.fitness for c in m.checkpoints)] if v is not None]


@pytest.mark.slow
@pytest.mark.parametrize("case", FORGERIES)
def test_a_forged_result_does_not_change_the_score(case: str, real_sandbox, tmp_path: Path) -> None:
    task = load_task(small_task(tmp_path, timesteps=2048, eval_episodes=3))
    recording = Recording(real_sandbox)
    (outcome,) = TrainingRunner(recording, task, workers=1).train(
        [CandidateCode(case, (CORPUS / f"{case}.py").read_text(), tmp_path / "artifacts")])

    # The attack worked on what the train job wrote ...
    (reported,) = recording.raw["eureka.jobs.train"]
    assert reported is not None
    assert reported["outcomes"][0]["members"][0]["fitness"] == 500.0, reported
    # ... and changed nothing: the score is the untrained policy's, from the evaluation job.
    member = outcome.members[0]
    assert member.status == "ok", member.error
    assert 0 < member.fitness < UNTRAINED, member
    assert 500.0 not in fitness_values(outcome), outcome
    # The score is what the handed-over policy does, re-scored here on the host.
    arch = expected_arch(task, space_info(task.env))
    snapshots = load_snapshots(tmp_path / "artifacts" / "policy_seed0.npz", arch, task.training.checkpoints + 1)
    assert gym_episodes(task, arch, snapshots["final"], 0, task.fitness.eval_episodes)[0] == member.fitness


def scripted_replies(directory: Path, cases: list[str], spare: str) -> Path:
    directory.mkdir()
    for i, case in enumerate(cases):
        code = (CORPUS / f"{case}.py").read_text()
        (directory / f"{i:02d}_{case}.md").write_text(f"A reward.\n\n```python\n{code}```\n")
    for i in range(len(cases), len(cases) + 8):  # repairs and reflections, should any be asked for
        (directory / f"{i:02d}_spare.md").write_text(f"A reward.\n\n```python\n{spare}```\n")
    return directory


def run_eureka(task: Path, replies: Path, samples: int, sandbox: str, runs: Path) -> Path:
    result = CliRunner().invoke(cli, ["run", str(task), "--model", f"scripted:{replies}", "--iterations", "1",
                                      "--samples", str(samples), "--sandbox", sandbox, "--runs-dir", str(runs)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.glob("*-cartpole-*")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    return run_dir


def candidates_by_case(run_dir: Path, cases: list[str]) -> dict[str, Path]:
    found = {}
    for reward in run_dir.glob("iter_*/cand_*/reward.py"):
        code = reward.read_text()
        for case in cases:
            if (CORPUS / f"{case}.py").read_text().splitlines()[0] in code:
                found[case] = reward.parent
    return found


@pytest.mark.slow
def test_eureka_run_scores_hostile_candidates_by_their_policies(real_sandbox, tmp_path: Path) -> None:
    cases = [*FORGERIES, "probe_train_divergence"]
    replies = scripted_replies(tmp_path / "replies", cases, GOOD)
    task = small_task(tmp_path, timesteps=2048, eval_episodes=3)
    run_dir = run_eureka(task, replies, len(cases), real_sandbox.name, tmp_path / "runs")
    found = candidates_by_case(run_dir, cases)
    assert set(found) == set(cases), found
    for case, directory in found.items():
        critic = json.loads((directory / "critic.json").read_text())
        if not critic["accepted"]:
            continue  # rejected by the critic: fine too
        assert json.loads((directory / "candidate.json").read_text())["status"] == "trained", case
        metrics = json.loads((directory / "metrics.json").read_text())
        members = metrics["outcome"]["members"]
        values = [v for m in members for v in [m["fitness"], *(c["fitness"] for c in m["checkpoints"])]
                  if v is not None]
        assert all(m["status"] == "ok" and m["fitness"] < UNTRAINED for m in members), (case, members)
        assert 500.0 not in values, (case, values)
        assert (directory / "reward.py").read_text().startswith((CORPUS / f"{case}.py").read_text().splitlines()[0])


@pytest.mark.slow
def test_a_jax_candidate_cannot_touch_the_others_in_its_population(real_sandbox, tmp_path: Path) -> None:
    """Its Python runs only in its own probe job; the population trains serialized rewards."""
    if real_sandbox.name != "bwrap":
        pytest.skip("one sandbox is enough for this slower jax run (the containment is the same)")
    good = (ROOT / "tasks" / "rewards" / "cartpole_human.py").read_text()
    cases = ["write_other_candidates"]
    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "00_good.md").write_text(f"A reward.\n\n```python\n{good}```\n")
    code = (CORPUS / "write_other_candidates.py").read_text()
    (replies / "01_hostile.md").write_text(f"A reward.\n\n```python\n{code}```\n")
    for i in range(2, 8):
        (replies / f"{i:02d}_spare.md").write_text(f"A reward.\n\n```python\n{good}```\n")
    task = small_task(tmp_path, timesteps=8192, source=ROOT / "tasks" / "cartpole.yaml", seeds=[0])
    run_dir = run_eureka(task, replies, 2, "bwrap", tmp_path / "runs")
    found = candidates_by_case(run_dir, cases)
    assert set(found) == set(cases)
    rewards = {p.parent: p.read_text() for p in run_dir.glob("iter_*/cand_*/reward.py")}
    assert any(text == good for text in rewards.values()), "the good candidate's reward.py was replaced"
    assert not any("pays for falling" in t or "'fall'" in t for d, t in rewards.items() if d != found[cases[0]])
    for directory in rewards:
        assert json.loads((directory / "candidate.json").read_text())["status"] == "trained", directory
        metrics = json.loads((directory / "metrics.json").read_text())
        assert all(m["status"] == "ok" for m in metrics["outcome"]["members"]), metrics["outcome"]
    best = run_dir / "best" / "reward.py"
    assert best.read_text() in rewards.values()
