"""The real sandbox backends under test. Never skipped silently: with CI=true a missing
engine fails the test with the reason; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os

import pytest

from eureka.sandbox import SandboxError, make_sandbox

IN_CI = os.environ.get("CI", "").lower() == "true"


def sandbox_or_skip(name: str):
    try:
        return make_sandbox(name)
    except SandboxError as exc:
        message = f"the {name} sandbox is not available: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing sandbox engine is a failure)")
        pytest.skip(message)


@pytest.fixture(scope="module", params=[
    pytest.param("bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", marks=pytest.mark.docker),
])
def real_sandbox(request):
    """Each real backend in turn (bwrap, docker)."""
    return sandbox_or_skip(request.param)
