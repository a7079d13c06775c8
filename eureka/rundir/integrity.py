"""The reward code a run keeps is the code the host accepted, checked by its sha256.

`reward.py` in a candidate's folder is written by the host from the code the critic
accepted; its sha256 goes into candidate.json (`reward_sha256`). Whatever copies or shows
that file later (best/reward.py, `eureka export`, the web page) reads it back through
`read_reward`, which refuses a link, a special file, or a text whose digest differs.
Records written before the digest existed (None) are read unchecked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from eureka.sandbox.untrusted import UntrustedOutput, read_job_bytes

REWARD_FILE = "reward.py"
MAX_REWARD_BYTES = 1 << 20


class RewardMismatch(RuntimeError):
    """reward.py is not the code the host wrote (changed, replaced by a link, unreadable)."""


def reward_sha256(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def read_reward(candidate_dir: Path, expected_sha256: str | None) -> str:
    """The candidate's reward.py, checked against the digest its candidate.json recorded."""
    try:
        code = read_job_bytes(Path(candidate_dir), REWARD_FILE, MAX_REWARD_BYTES).decode("utf-8")
    except (UntrustedOutput, UnicodeDecodeError) as exc:
        raise RewardMismatch(f"{candidate_dir}/{REWARD_FILE}: {exc}") from exc
    if expected_sha256 is not None and reward_sha256(code) != expected_sha256:
        raise RewardMismatch(f"{candidate_dir}/{REWARD_FILE} is not the code the run accepted "
                             f"(sha256 {reward_sha256(code)[:12]}..., recorded {expected_sha256[:12]}...)")
    return code
