"""A JAX generation on an executor with several GPUs or nodes trains as one sub-population per
shard, each its own job, with every candidate's result (a member's result does not depend on
its population: tests/loop/test_overlap.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eureka.executor.local import LocalExecutor
from eureka.task import load_task
from eureka.training.runner import CandidateCode, TrainingRunner

from tests.helpers import require, small_task

ROOT = Path(__file__).resolve().parents[2]
HUMAN = ROOT / "tasks" / "rewards" / "cartpole_human.py"


class TwoNodes(LocalExecutor):
    """This machine's sandbox, reporting two nodes (as RayExecutor does on a two-node cluster)."""

    population_shards = 2


@pytest.mark.slow
@pytest.mark.timeout(900, method="thread")
def test_a_population_is_split_one_shard_per_node(tmp_path: Path, sandbox) -> None:
    require("jax", "jax (the jax extra)")
    task = load_task(small_task(tmp_path, timesteps=2000, source=ROOT / "tasks" / "cartpole.yaml"))
    executor = TwoNodes(sandbox)
    session = TrainingRunner(executor, task).session(overlap=False)
    code = HUMAN.read_text()
    session.submit(*(CandidateCode(f"c{k}", code.replace("0.5", f"0.{k + 4}")) for k in range(3)))
    outcomes = session.results()
    assert session.populations == [["c0", "c1"], ["c2"]]
    assert [o.candidate_id for o in outcomes] == ["c0", "c1", "c2"]
    assert all(o.fitness is not None for o in outcomes), [o.members for o in outcomes]
    assert all(o.jobs[0].executor == "local" for o in outcomes)
