"""What a train job hands over (policy parameters) and how the host checks and re-scores it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from eureka.envs import space_info
from eureka.reward import load_reward
from eureka.task import load_task
from eureka.training.base import MemberResult, TrainOutcome
from eureka.training.clean_eval import read_policies
from eureka.training.evaluation import gym_episodes
from eureka.training.policy import PolicyArch, PolicyError, expected_arch, load_snapshots, save_snapshots
from tests.helpers import small_task

ROOT = Path(__file__).resolve().parents[2]
ARCH = PolicyArch(obs_dim=4, hidden=(8, 8), activation="tanh", action_kind="discrete", action_dim=2,
                  normalize_obs=False)


def params(arch: PolicyArch = ARCH, **override) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    values = {name: rng.normal(size=shape).astype(np.float32) for name, shape in arch.shapes().items()}
    return {**values, **override}


def test_checked_snapshots_round_trip(tmp_path: Path) -> None:
    save_snapshots(tmp_path / "p.npz", {"final": params(), "checkpoint0": params()})
    loaded = load_snapshots(tmp_path / "p.npz", ARCH, max_checkpoints=3)
    assert set(loaded) == {"final", "checkpoint0"}
    np.testing.assert_array_equal(loaded["final"]["layer2.kernel"], params()["layer2.kernel"])


@pytest.mark.parametrize("write, reason", [
    (lambda p: save_snapshots(p, {"final": params(**{"layer0.kernel": np.zeros((5, 8), np.float32)})}), "expected"),
    (lambda p: save_snapshots(p, {"final": params(**{"layer0.bias": np.full(8, np.nan, np.float32)})}), "not finite"),
    (lambda p: save_snapshots(p, {"final": params(), "../escape": params()}), "unexpected array"),
    (lambda p: save_snapshots(p, {"checkpoint0": params()}), "no final policy"),
    (lambda p: save_snapshots(p, {"final": params(), "checkpoint99": params()}), "unexpected array"),
    (lambda p: np.savez(p, **{"final/layer0.kernel": np.array([{"x": 1}], dtype=object)}), "not a readable npz"),
    (lambda p: p.write_bytes(b"import os; os.system('id')"), "not a readable npz"),
    (lambda p: os.symlink("/etc/passwd", p), "not a readable npz"),
])
def test_anything_but_the_expected_arrays_is_the_members_failure(tmp_path: Path, write, reason: str) -> None:
    path = tmp_path / "p.npz"
    write(path)
    with pytest.raises(PolicyError, match=reason):
        load_snapshots(path, ARCH, max_checkpoints=3)


def test_a_linked_candidate_folder_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    save_snapshots(elsewhere / "policy_seed0.npz", {"final": params()})
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    os.symlink(elsewhere, artifacts / "0")
    outcome = TrainOutcome(candidate_id="c", members=[MemberResult(seed=0, status="ok")])
    policies = read_policies(artifacts, [outcome], ARCH, 3)
    assert not policies.snapshots and "unusable" in policies.errors[(0, 0)]


@pytest.mark.slow
def test_the_clean_evaluator_scores_an_sb3_policy_as_sb3_does(tmp_path: Path) -> None:
    from eureka.training.sb3_trainer import train_member

    task = load_task(small_task(tmp_path, timesteps=4096, eval_episodes=3))
    member = train_member(task, load_reward(ROOT / "tasks" / "rewards" / "numpy" / "cartpole_human.py"), 0,
                          artifacts=tmp_path)
    arch = expected_arch(task, space_info(task.env))
    snapshots = load_snapshots(tmp_path / "policy_seed0.npz", arch, task.training.checkpoints + 1)
    fitness, episodes = gym_episodes(task, arch, snapshots["final"], 0, 3)
    assert fitness == member.fitness
    assert [e.length for e in episodes] == [e.length for e in member.episodes]


def test_a_serialized_jax_reward_matches_its_python_under_vmap_and_switch() -> None:
    import jax
    import jax.numpy as jnp

    from eureka.envs.base import SpaceInfo
    from eureka.training.exported_reward import export_reward, load_exported

    space = SpaceInfo(4, "discrete", 2, "jax")
    python = load_reward(ROOT / "tasks" / "rewards" / "cartpole_human.py")
    exported, names = load_exported(export_reward(python, space), space)
    assert names == tuple(sorted(python(*(jnp.zeros((1, 4)), jnp.zeros(1, jnp.int32), jnp.zeros((1, 4)),
                                          jnp.zeros(1, bool)))[1]))
    obs = jax.random.normal(jax.random.PRNGKey(0), (3, 5, 4)) * 0.1
    action = jnp.zeros((3, 5), jnp.int32)
    terminated = jnp.zeros((3, 5), bool).at[0, 0].set(True)
    one = lambda x: x[None]  # noqa: E731

    def per_row(fn):
        return jax.jit(jax.vmap(jax.vmap(lambda o, a, t: fn(one(o), one(a), one(o), one(t))[0][0])))

    np.testing.assert_allclose(per_row(exported)(obs, action, terminated), per_row(python)(obs, action, terminated),
                               rtol=1e-6)
    branches = [lambda *x: exported(*x)[0], lambda *x: python(*x)[0] * 0]
    switched = jax.jit(jax.vmap(lambda i, o, a, t: jax.lax.switch(i, branches, one(o), one(a), one(o), one(t))))
    values = switched(jnp.array([0, 1, 0]), obs[:, 0], action[:, 0], terminated[:, 0])
    assert float(values[1, 0]) == 0.0 and float(values[0, 0]) != 0.0
