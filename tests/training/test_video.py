"""Rollout videos: a real CartPole rollout to MP4 + poster, and failures that never raise."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from eureka.task import EnvSpec
from eureka.training.video import record_rollout

CARTPOLE = EnvSpec(backend="gymnasium", id="CartPole-v1")


def balance(obs: np.ndarray) -> int:
    """A hand-written controller: push towards where the pole falls."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def test_a_cartpole_rollout_renders_to_a_playable_mp4(tmp_path: Path) -> None:
    result = record_rollout(CARTPOLE, balance, tmp_path, name="rollout_seed0", max_frames=120)

    assert result.ok, result.error
    assert result.frames == 120  # the controller keeps the pole up: the frame limit ends the clip
    assert not result.episode_ended and result.episode_return == 119.0
    reader = imageio.get_reader(tmp_path / "rollout_seed0.mp4")
    meta = reader.get_meta_data()
    frames = [frame for frame in reader]
    reader.close()
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert len(frames) == 120
    assert frames[0].shape == (400, 600, 3)
    assert not np.array_equal(frames[0], frames[-1])  # the cart and pole moved
    poster = imageio.imread(tmp_path / "rollout_seed0.png")
    assert poster.shape == (400, 600, 3) and poster.std() > 0
    recorded = json.loads((tmp_path / "rollout_seed0.json").read_text())
    assert recorded["ok"] and recorded["video"] == "rollout_seed0.mp4" and recorded["frames"] == 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rollout_seed0.json", "rollout_seed0.mp4",
                                                          "rollout_seed0.png"]


def test_a_falling_pole_ends_the_clip_with_the_episode(tmp_path: Path) -> None:
    result = record_rollout(CARTPOLE, lambda obs: 1, tmp_path, name="clip")
    assert result.ok and result.episode_ended
    assert 2 < result.frames < 60  # pushing right topples the pole within a few dozen steps
    assert imageio.get_reader(tmp_path / "clip.mp4").count_frames() == result.frames


def test_a_failed_rollout_is_recorded_not_raised(tmp_path: Path) -> None:
    result = record_rollout(CARTPOLE, lambda obs: "left", tmp_path, name="bad")
    assert not result.ok and "invalid" in (result.error or "")
    assert json.loads((tmp_path / "bad.json").read_text())["error"] == result.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]  # no half-written video

    other = record_rollout(EnvSpec(backend="jax", id="CartPole-v1"), balance, tmp_path, name="jax")
    assert not other.ok and "jax backend" in (other.error or "")
