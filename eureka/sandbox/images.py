"""Sandbox set-up and health: the offline Docker image, and a check of every backend.

These are plain functions returning typed results; the CLI (`eureka sandbox build`,
`eureka sandbox check`) only formats them.
"""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any, NamedTuple

from eureka.sandbox.base import SandboxError
from eureka.sandbox.mounts import GROUP, PASSWD, SCRATCH_MOUNT, system_layout

CHECK_BACKENDS = ("docker", "bwrap")

TRIVIAL_REWARD = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    steady = 1.0 - np.abs(next_obs[:, 0])
    return steady, {"steady": steady}
"""


class ImageBuild(NamedTuple):
    tag: str
    image_id: str
    seconds: float


class SandboxCheck(NamedTuple):
    backend: str
    ok: bool
    detail: str  # what works (and with which limits), or what to install/start
    latency_s: float | None  # start-to-result of a trivial reward probe, when it ran


def offline_rootfs() -> bytes:
    """A tar of the near-empty root the offline image holds: mount points, the host's
    merged-/usr symlinks, and passwd/group naming nobody. Everything else is bound at run."""
    buf = io.BytesIO()
    _, links = system_layout()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        # /sbin stays a real directory: Docker mounts its init at /sbin/docker-init, which must
        # not resolve into the read-only /usr bind.
        for name in ("etc", "tmp", "dev", "proc", "sys", "usr", "sbin", SCRATCH_MOUNT.strip("/"), "eureka-log"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        for path, target in links.items():
            if path == "/sbin":
                continue
            info = tarfile.TarInfo(path.strip("/"))
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_offline_image(tag: str | None = None, client: Any = None) -> ImageBuild:
    """Import the offline image (no registry needed); idempotent, about 0.2 s.

    The image is host-specific: it expects this host's Python installation, bound at run.
    """
    from eureka.sandbox.docker import HOST_PYTHON, MODE_LABEL, OFFLINE_IMAGE, connect

    tag = tag or OFFLINE_IMAGE
    repository, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    from docker.errors import APIError, ImageNotFound

    client = client or connect()
    start = time.monotonic()
    try:
        previous = client.images.get(tag).id
    except ImageNotFound:
        previous = None
    client.api.import_image_from_data(offline_rootfs(), repository=repository, tag=version,
                                      changes=[f"LABEL {MODE_LABEL}={HOST_PYTHON}"])
    image = client.images.get(tag)
    if previous and previous != image.id:
        try:
            client.images.remove(previous)  # the old, now untagged, copy
        except APIError:
            pass  # still used by a container: docker image prune removes it later
    return ImageBuild(tag, image.id, time.monotonic() - start)


def probe_once(sandbox: Any) -> float:
    """Run the probe job on a trivial reward in `sandbox` (as the critic would, without
    importing it: the sandbox sits below the critic); start-to-result seconds."""
    import json
    import shutil
    import tempfile
    from dataclasses import asdict
    from pathlib import Path

    import numpy as np

    from eureka.envs.base import SpaceInfo, Transitions
    from eureka.sandbox.base import JOB_FILE, SandboxJob, SandboxLimits

    rng = np.random.default_rng(0)
    n = 8
    obs = rng.normal(size=(n, 4)).astype(np.float32)
    transitions = Transitions(obs=obs, action=rng.integers(0, 2, n), next_obs=obs + 0.01,
                              terminated=np.zeros(n, bool), truncated=np.zeros(n, bool),
                              env_reward=np.ones(n, np.float32))
    scratch = Path(tempfile.mkdtemp(prefix="eureka-probe-"))
    try:
        (scratch / "reward.py").write_text(TRIVIAL_REWARD)
        with open(scratch / "transitions.npz", "wb") as handle:
            transitions.save(handle)
        (scratch / JOB_FILE).write_text(json.dumps({"reward_file": "reward.py", "transitions_file": "transitions.npz",
                                                    "space": asdict(SpaceInfo(4, "discrete", 2, "numpy"))}))
        scratch.chmod(0o777)  # the sandboxed job may run as an unprivileged uid
        for path in scratch.iterdir():
            path.chmod(0o666)
        start = time.monotonic()
        outcome = sandbox.run(SandboxJob("eureka.jobs.probe", scratch, SandboxLimits()))
        seconds = time.monotonic() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = outcome.result or {}
    if not outcome.ok or result.get("problems") or result.get("components") != ["steady"]:
        problems = result.get("problems") or [outcome.detail]
        raise SandboxError(f"a trivial reward failed in the {sandbox.name} sandbox: {'; '.join(map(str, problems))}")
    return seconds


def check_sandboxes(backends: tuple[str, ...] = CHECK_BACKENDS) -> list[SandboxCheck]:
    """Whether each real backend works here, with a trivial probe's latency."""
    from eureka.sandbox import make_sandbox

    checks = []
    for backend in backends:
        try:
            sandbox = make_sandbox(backend)
            latency = probe_once(sandbox)
        except SandboxError as exc:
            checks.append(SandboxCheck(backend, False, str(exc), None))
            continue
        checks.append(SandboxCheck(backend, True, describe(sandbox), latency))
    return checks


def describe(sandbox: Any) -> str:
    if sandbox.name == "docker":
        mode = "host Python bound read-only" if sandbox.host_python else "self-contained image"
        return f"image {sandbox.image} ({mode}), cgroup limits by the engine"
    if sandbox.name == "bwrap":
        return f"bubblewrap, limits by {sandbox.limits_mode}"
    return sandbox.name
