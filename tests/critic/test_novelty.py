import numpy as np
import pytest

from eureka.envs import sample_transitions
from eureka.critic.novelty import NoveltyFilter, canonical_reward, code_fingerprint, reward_distance, token_similarity
from eureka.task import EnvSpec

BASE = '''import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    """Stay upright."""
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    alive = np.where(terminated, -1.0, 1.0)
    return alive + upright, {"alive": alive, "upright": upright}
'''
RENAMED = '''import numpy as np

# a comment that changes nothing
def compute_reward(obs, action, next_obs, terminated):
    straight = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    living = np.where(terminated, -1.0, 1.0)
    return living + straight, {"living": living, "straight": straight}
'''
TWEAKED = BASE.replace("0.2095", "0.21")
DIFFERENT = '''import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    calm = np.exp(-np.abs(next_obs[:, 3]))
    return calm, {"calm": calm}
'''


@pytest.fixture(scope="module")
def transitions():
    return sample_transitions(EnvSpec(id="CartPole-v1"), 2048, seed=3)


def values(code: str, transitions) -> np.ndarray:
    scope: dict = {}
    exec(code, scope)  # trusted test code
    total, _ = scope["compute_reward"](transitions.obs, transitions.action, transitions.next_obs,
                                       transitions.terminated)
    return np.asarray(total)


def test_same_program_up_to_names_comments_and_docstrings() -> None:
    assert code_fingerprint(BASE) == code_fingerprint(RENAMED)
    assert code_fingerprint(BASE) != code_fingerprint(TWEAKED)
    assert code_fingerprint(BASE) != code_fingerprint(DIFFERENT)


def test_token_similarity() -> None:
    assert token_similarity(BASE, TWEAKED) > 0.95
    assert token_similarity(BASE, DIFFERENT) < 0.7


def test_rescaled_and_shaped_copy_is_the_same_reward(transitions) -> None:
    base = values(BASE, transitions)
    t = transitions
    shaping = 0.99 * np.where(t.terminated, 0.0, t.next_obs[:, 0] ** 2) - t.obs[:, 0] ** 2
    copy = 4.0 * base + 0.3 * shaping
    assert reward_distance(canonical_reward(base, t), canonical_reward(copy, t)) < 0.01
    assert reward_distance(canonical_reward(base, t), canonical_reward(values(DIFFERENT, t), t)) > 0.3
    assert reward_distance(canonical_reward(base, t), canonical_reward(-base, t)) > 0.9


def test_constant_reward_has_nothing_left(transitions) -> None:
    assert canonical_reward(np.full(len(transitions), 2.0), transitions).vector is None


def test_filter_accepts_new_and_rejects_each_kind(transitions) -> None:
    novelty = NoveltyFilter(transitions)
    assert novelty.judge(BASE, list(values(BASE, transitions))).novel
    novelty.remember("i0-c0", BASE, list(values(BASE, transitions)))

    same = novelty.judge(RENAMED, None)
    assert (same.novel, same.kind, same.other) == (False, "same_program", "i0-c0")
    near = novelty.judge(TWEAKED, None)
    assert (near.novel, near.kind) == (False, "near_duplicate")
    near = novelty.judge(TWEAKED, list(values(TWEAKED, transitions)))  # and the same reward on the transitions
    assert (near.novel, near.kind) == (False, "near_duplicate")
    flipped = BASE.replace("return alive + upright,", "return alive - upright,")
    assert token_similarity(flipped, BASE) >= 0.95
    assert novelty.judge(flipped, list(values(flipped, transitions))).novel  # nearly the same text, another reward
    rescaled = BASE.replace("return alive + upright,", "return 3.0 * (alive + upright) + 0.5,")
    rescaled = rescaled.replace('"""Stay upright."""', "scale = 3.0\n    offset = 0.5\n    extra = scale * offset")
    verdict = novelty.judge(rescaled, list(values(rescaled, transitions)))
    assert token_similarity(rescaled, BASE) < 0.95
    assert (verdict.novel, verdict.kind) == (False, "same_reward")
    assert novelty.judge(DIFFERENT, list(values(DIFFERENT, transitions))).novel


def test_a_wide_observation_keeps_the_shaping_basis_small_and_rewards_apart() -> None:
    """A Craftax-sized observation (1,345 columns, mostly one-hot) must neither build ~900,000
    pairwise features nor explain every reward as shaping."""
    from eureka.envs.base import Transitions
    from eureka.critic.novelty import MAX_SHAPING_FEATURES, _basis_layout

    rng = np.random.default_rng(0)
    n, d = 2048, 1345
    obs = (rng.random((n, d)) < 0.05).astype(np.float32)
    next_obs = (rng.random((n, d)) < 0.05).astype(np.float32)
    t = Transitions(obs, rng.integers(0, 17, n), next_obs, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n))
    columns, pairwise = _basis_layout(t)
    assert not pairwise and 4 * len(columns) <= MAX_SHAPING_FEATURES
    c = columns[0]
    shaping = canonical_reward(0.99 * next_obs[:, c] - obs[:, c], t)  # pure shaping on a basis column
    assert shaping.vector is None and shaping.shaping_share == 1.0
    noise = canonical_reward(rng.random(n), t)  # no potential explains it
    assert noise.vector is not None and noise.shaping_share < 0.5
