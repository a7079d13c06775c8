import numpy as np
import pytest

from eureka.envs import sample_transitions
from eureka.critic.prefilter import check_ranking, episodes_of
from eureka.task import EnvSpec
from eureka.training.base import FitnessSpec


@pytest.fixture(scope="module")
def cartpole():
    transitions = sample_transitions(EnvSpec(id="CartPole-v1"), 2048, seed=5)
    return transitions, episodes_of(transitions, FitnessSpec())


def test_episodes_are_split_and_scored_by_ground_truth(cartpole) -> None:
    transitions, episodes = cartpole
    assert len(episodes) > 20
    assert episodes[0].start == 0
    for a, b in zip(episodes, episodes[1:]):
        assert a.stop == b.start
    # CartPole's env reward is +1 per step: the ground truth is the episode length
    assert all(e.ground_truth == e.stop - e.start for e in episodes)


def test_a_reward_that_pays_for_surviving_passes(cartpole) -> None:
    transitions, episodes = cartpole
    alive = np.where(transitions.terminated, -1.0, 1.0)
    check = check_ranking(alive, episodes)
    assert check.passed and check.correlation > 0.5


def test_a_reward_that_pays_for_falling_is_rejected(cartpole) -> None:
    transitions, episodes = cartpole
    per_step_cost = np.full(len(transitions), -1.0) + 0.01 * np.abs(transitions.next_obs[:, 2])
    check = check_ranking(per_step_cost, episodes)
    assert not check.passed
    assert "ranks the episodes that do worse" in check.detail


def test_no_signal_means_no_verdict() -> None:
    transitions = sample_transitions(EnvSpec(id="MountainCar-v0"), 2048, seed=0)
    spec = FitnessSpec(metric="success_rate", success="terminated")
    episodes = episodes_of(transitions, spec)
    check = check_ranking(np.abs(transitions.next_obs[:, 1]), episodes)
    assert check.passed and check.correlation is None


def test_the_pool_never_joins_a_cut_random_episode_to_a_rollout() -> None:
    from eureka.loop.database import TrajectoryPool

    random = sample_transitions(EnvSpec(id="CartPole-v1"), 100, seed=1)
    assert not (random.terminated[-1] or random.truncated[-1])  # cut inside an episode
    rollout = sample_transitions(EnvSpec(id="CartPole-v1"), 300, seed=2)
    done = np.flatnonzero(rollout.terminated | rollout.truncated)
    whole = type(rollout)(**{k: getattr(rollout, k)[: done[-1] + 1] for k in rollout.__dataclass_fields__})
    pool = TrajectoryPool(random)
    pool.add("trained", whole)
    episodes = pool.episodes(FitnessSpec())
    assert len(episodes) == len(episodes_of(random, FitnessSpec())) + len(done)
    assert all(e.stop <= 100 or e.start >= 100 for e in episodes)
    assert episodes[-1].stop == len(pool.transitions)
