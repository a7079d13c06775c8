"""Sandboxes for generated code. `make_sandbox` picks a backend by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eureka import config
from eureka.sandbox.base import (
    Sandbox,
    SandboxError,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    Verdict,
)

if TYPE_CHECKING:
    from eureka.envs.user import UserCode

SANDBOX_CHOICES = ("auto", "docker", "bwrap", "none")

SETUP_HINT = ("install and start a sandbox: `sudo sandboxes/setup.sh` (apt-get install docker.io "
              "bubblewrap, starts dockerd, builds the offline image), or `eureka sandbox build` once "
              "dockerd runs; `--sandbox none` runs generated code unsandboxed (trusted debugging only)")


def make_sandbox(name: str = "auto", user_code: "UserCode | None" = None) -> Sandbox:
    """Return the sandbox backend called `name`; 'auto' is Docker if it answers, else bwrap.

    `user_code` (eureka.envs.user.user_code(task)): the task's own env modules and env.paths,
    which every job of this sandbox shows read-only.

    'auto' takes Docker when the engine answers a ping within about 2 s and the offline image
    exists, else bubblewrap when a trivial job runs in it. Raises SandboxError when the
    asked-for backend (or, for 'auto', every real backend) cannot run, saying why and what
    to install or start. There is no silent fallback to an unsandboxed process.

    Docker reads two settings from the environment: EUREKA_SANDBOX_IMAGE (default
    eureka-sandbox:offline; e.g. an image built from sandboxes/Dockerfile) and
    EUREKA_SANDBOX_GPUS ("all" or a count: GPU pass-through, see sandboxes/README.md).
    """
    sandbox = _backend(name)
    sandbox.user_code = user_code
    return sandbox


def _backend(name: str) -> Sandbox:
    if name == "none":
        from eureka.sandbox.unsandboxed import UnsandboxedSandbox

        return UnsandboxedSandbox()
    if name == "docker":
        from eureka.sandbox.docker import OFFLINE_IMAGE, DockerSandbox

        gpus = config.env_sandbox_gpus()
        return DockerSandbox(config.env_sandbox_image() or OFFLINE_IMAGE,
                             gpus=int(gpus) if gpus and gpus.isdigit() else gpus)
    if name == "bwrap":
        from eureka.sandbox.bwrap import BwrapSandbox

        sandbox = BwrapSandbox()
        ok, detail = sandbox.self_test()
        if not ok:
            raise SandboxError(f"bubblewrap cannot run a job here: {detail}")
        return sandbox
    if name == "auto":
        reasons = []
        for backend in ("docker", "bwrap"):
            try:
                return _backend(backend)
            except SandboxError as exc:
                reasons.append(f"{backend}: {exc}")
        raise SandboxError("no sandbox backend works here (" + "; ".join(reasons) + "). " + SETUP_HINT)
    raise SandboxError(f"unknown sandbox backend {name!r} (choose from {', '.join(SANDBOX_CHOICES)})")


__all__ = [
    "SANDBOX_CHOICES",
    "Sandbox",
    "SandboxError",
    "SandboxJob",
    "SandboxLimits",
    "SandboxResult",
    "Verdict",
    "make_sandbox",
]
