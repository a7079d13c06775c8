"""Evaluation episodes of a trained policy, saved for the next generation's pre-filter.

Both trainers record the deterministic evaluation of a candidate's first-seed policy as
`rollouts_seed<seed>.npz` in the candidate's artifacts (the `Transitions` format of
eureka.envs, whole episodes only, at most `MAX_ROLLOUT_TRANSITIONS`). The program database
loads them (`TrajectoryPool.add_from_dir`), so later candidates are ranked on episodes of
trained policies with known ground truth, not only on random-policy ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eureka.envs.base import Transitions

MAX_ROLLOUT_TRANSITIONS = 1024


def rollout_file(artifacts: Path, seed: int) -> Path:
    return artifacts / f"rollouts_seed{seed}.npz"


def whole_episodes(transitions: Transitions, limit: int = MAX_ROLLOUT_TRANSITIONS) -> Transitions | None:
    """The longest prefix of at most `limit` transitions that ends on an episode end; None if
    not even one whole episode fits (a policy that survives longer than the cap)."""
    done = (transitions.terminated | transitions.truncated)[:limit]
    ends = np.flatnonzero(done)
    if ends.size == 0:
        return None
    stop = int(ends[-1]) + 1
    return Transitions(**{k: getattr(transitions, k)[:stop] for k in Transitions.__dataclass_fields__})


class RolloutRecorder:
    """Collects single-env transitions step by step (the SB3 evaluation loop)."""

    def __init__(self, limit: int = MAX_ROLLOUT_TRANSITIONS) -> None:
        self.limit = limit
        self.rows: dict[str, list[np.ndarray]] = {k: [] for k in Transitions.__dataclass_fields__}

    @property
    def full(self) -> bool:
        return len(self.rows["obs"]) >= self.limit

    def step(self, obs, action, next_obs, terminated: bool, truncated: bool, env_reward: float) -> None:
        if self.full:
            return
        for key, value in (("obs", obs), ("action", action), ("next_obs", next_obs), ("terminated", terminated),
                           ("truncated", truncated), ("env_reward", env_reward)):
            self.rows[key].append(np.asarray(value))

    def transitions(self) -> Transitions | None:
        count = len(self.rows["obs"])
        if count == 0:
            return None
        return whole_episodes(Transitions(
            obs=np.asarray(self.rows["obs"], dtype=np.float32).reshape(count, -1),
            action=np.asarray(self.rows["action"]),
            next_obs=np.asarray(self.rows["next_obs"], dtype=np.float32).reshape(count, -1),
            terminated=np.asarray(self.rows["terminated"], dtype=bool),
            truncated=np.asarray(self.rows["truncated"], dtype=bool),
            env_reward=np.asarray(self.rows["env_reward"], dtype=np.float32),
        ), self.limit)


def save_rollouts(transitions: Transitions | None, artifacts: Path, seed: int) -> bool:
    if transitions is None or len(transitions) == 0:
        return False
    transitions.save(rollout_file(artifacts, seed))
    return True
