"""Rollout videos: a short clip of a trained policy, for people to judge what it learned.

Runs inside the sandboxed train job (a policy only ever runs inside a sandbox), on the
in-memory policy, right after training. `record_rollout` takes a plain `act(obs) -> action`
callable, so any backend can use it:

>>> record_rollout(task.env, lambda obs: model.predict(obs, deterministic=True)[0],
...                artifacts, name="rollout_seed0")                  # doctest: +SKIP

It writes `<name>.mp4` (H.264, yuv420p: plays in browsers), `<name>.png` (a poster frame)
and always `<name>.json` (what was recorded, or why nothing was). Rendering never raises:
a missing codec or a broken renderer must not cost a trained policy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict

from eureka.task import EnvSpec

MAX_FRAMES = 200
FPS = 30

ActFn = Callable[[np.ndarray], Any]


class RolloutVideo(BaseModel):
    """`<name>.json`: the outcome of one rollout recording (file names relative to its folder)."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    video: str | None = None
    poster: str | None = None
    frames: int = 0
    fps: int = FPS
    episode_return: float | None = None  # the env's own reward over the recorded steps
    episode_ended: bool = False  # terminated or truncated before the frame limit
    seconds: float = 0.0
    error: str | None = None


def record_rollout(env_spec: EnvSpec, act: ActFn, directory: Path, name: str = "rollout", *,
                   seed: int = 0, max_frames: int = MAX_FRAMES, fps: int = FPS,
                   make_env: Callable[[], Any] | None = None) -> RolloutVideo:
    """Render one episode (at most `max_frames` frames) of `act` in the env to MP4 + PNG.

    Args:
        env_spec: the task's env; a gymnasium env is made with render_mode="rgb_array".
        act: maps one observation (unbatched) to one action.
        directory: where `<name>.mp4`, `<name>.png` and `<name>.json` are written.
        make_env: an alternative factory of an env rendering rgb arrays (other backends).

    Returns the recorded outcome (also written to `<name>.json`); never raises on a failed
    render, encode or policy step.
    """
    start = time.monotonic()
    directory = Path(directory)
    video_path, poster_path = directory / f"{name}.mp4", directory / f"{name}.png"
    partial = directory / f"{name}.partial.mp4"  # renamed once whole
    try:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        result = _record(env_spec, act, video_path, poster_path, partial, seed, max_frames, fps, make_env)
    except Exception as exc:  # noqa: BLE001 - a video is a nicety; training results come first
        for path in (partial, video_path, poster_path):
            path.unlink(missing_ok=True)
        result = RolloutVideo(ok=False, fps=fps, error=f"{type(exc).__name__}: {exc}"[:2000])
    result.seconds = round(time.monotonic() - start, 3)
    try:
        (directory / f"{name}.json").write_text(result.model_dump_json(indent=2) + "\n")
    except OSError:
        pass
    return result


def _record(env_spec: EnvSpec, act: ActFn, video_path: Path, poster_path: Path, partial: Path,
            seed: int, max_frames: int, fps: int, make_env: Callable[[], Any] | None) -> RolloutVideo:
    import imageio.v2 as imageio

    if make_env is None:
        if env_spec.backend != "gymnasium":
            raise ValueError(f"no renderer for the {env_spec.backend} backend; pass make_env")
        from eureka.envs.gymnasium_backend import make_env as make_gym_env

        env = make_gym_env(env_spec, render_mode="rgb_array")
    else:
        env = make_env()
    frames, total, ended = 0, 0.0, False
    poster: np.ndarray | None = None
    try:
        obs, _ = env.reset(seed=seed)
        # macro_block_size=2: even sizes need no padding (600x400 stays 600x400).
        writer = imageio.get_writer(partial, format="FFMPEG", fps=fps, codec="libx264",
                                    pixelformat="yuv420p", macro_block_size=2,
                                    ffmpeg_log_level="error")
        try:
            while True:
                frame = _frame(env.render())
                writer.append_data(frame)
                frames += 1
                if frames == 1 or frames == min(max_frames, 60):
                    poster = frame  # a frame a second or two in shows the policy at work
                if ended or frames >= max_frames:
                    break
                obs, reward, terminated, truncated, _ = env.step(act(obs))
                total += float(np.sum(reward))
                ended = bool(terminated or truncated)
        finally:
            writer.close()
    finally:
        env.close()
    if frames < 2:
        raise RuntimeError(f"only {frames} frame(s) rendered")
    os.replace(partial, video_path)
    assert poster is not None
    imageio.imwrite(poster_path, poster)
    return RolloutVideo(ok=True, video=video_path.name, poster=poster_path.name, frames=frames, fps=fps,
                        episode_return=total, episode_ended=ended)


def _frame(image: Any) -> np.ndarray:
    if image is None:
        raise RuntimeError("env.render() returned None (the env was not made with render_mode='rgb_array')")
    frame = np.asarray(image)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise RuntimeError(f"env.render() returned an array of shape {frame.shape}, not (H, W, 3)")
    frame = frame[..., :3]
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    # yuv420p needs even sides
    return np.ascontiguousarray(frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2])
