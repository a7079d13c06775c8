"""Sandboxes for generated code. `make_sandbox` picks a backend by name."""

from __future__ import annotations

from eureka.sandbox.base import (
    Sandbox,
    SandboxError,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    Verdict,
)

SANDBOX_CHOICES = ("auto", "docker", "bwrap", "none")


def make_sandbox(name: str = "auto") -> Sandbox:
    """Return the sandbox backend called `name`; 'auto' is Docker if it answers, else bwrap.

    Raises SandboxError when the asked-for backend (or, for 'auto', every real backend)
    cannot run. There is no silent fallback to an unsandboxed process.
    """
    if name == "none":
        from eureka.sandbox.unsandboxed import UnsandboxedSandbox

        return UnsandboxedSandbox()
    raise SandboxError(f"sandbox backend {name!r} is not available yet")


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
