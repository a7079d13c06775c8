"""Cheap pre-filter (cascade evaluation): check a reward on trajectories before training it.

Episodes with a known ground-truth outcome (random-policy rollouts, and rollouts of
policies trained earlier in the run) are scored with the candidate reward. A reward that
ranks the episodes the task scores worse above those it scores better is sent back for
repair before it costs any training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eureka.envs.base import Transitions
from eureka.training.base import FitnessSpec
from eureka.training.fitness import success_flags

MIN_EPISODES = 6
REJECT_BELOW = -0.3  # rank correlation between candidate return and ground truth


@dataclass(frozen=True)
class Episode:
    start: int
    stop: int  # exclusive
    ground_truth: float


def episodes_of(transitions: Transitions, spec: FitnessSpec) -> list[Episode]:
    """Complete episodes in a sequence of single-env transitions, scored by the ground truth."""
    done = transitions.terminated | transitions.truncated
    success = success_flags(spec, transitions.obs, transitions.next_obs, transitions.terminated,
                            transitions.truncated, transitions.env_reward)
    episodes, start = [], 0
    for end in np.flatnonzero(done):
        stop = int(end) + 1
        if spec.metric == "success_rate":
            score = float(success[end])
        elif spec.metric == "episode_length":
            score = float(stop - start)
        else:
            score = float(transitions.env_reward[start:stop].sum())
        if spec.direction == "minimize":
            score = -score
        episodes.append(Episode(start, stop, score))
        start = stop
    return episodes


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):  # ties share their mean rank
        tie = values == value
        ranks[tie] = ranks[tie].mean()
    return ranks


@dataclass(frozen=True)
class RankingCheck:
    passed: bool
    correlation: float | None
    episodes: int
    detail: str


def check_ranking(reward_values: np.ndarray, episodes: list[Episode]) -> RankingCheck:
    """Spearman correlation between the candidate's episode return and the ground truth."""
    if len(episodes) < MIN_EPISODES:
        return RankingCheck(True, None, len(episodes), "too few episodes to judge")
    truth = np.array([e.ground_truth for e in episodes])
    if np.ptp(truth) == 0:
        return RankingCheck(True, None, len(episodes), "all episodes have the same ground truth")
    returns = np.array([float(np.sum(reward_values[e.start:e.stop])) for e in episodes])
    if np.ptp(returns) == 0:
        return RankingCheck(False, 0.0, len(episodes),
                            "the reward gives every episode the same return, so it cannot tell better "
                            "behaviour from worse")
    rho = float(np.corrcoef(_ranks(returns), _ranks(truth))[0, 1])
    if rho < REJECT_BELOW:
        return RankingCheck(False, rho, len(episodes),
                            f"on {len(episodes)} recorded episodes the reward ranks the episodes that do worse "
                            f"at the task above those that do better (rank correlation {rho:.2f}); "
                            "a policy trained on it would learn the wrong behaviour")
    return RankingCheck(True, rho, len(episodes), f"rank correlation with the task score {rho:.2f} on {len(episodes)} episodes")
