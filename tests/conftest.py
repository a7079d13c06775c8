"""Shared fixtures: no API key ever reaches a test; the sandbox backend under test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY",
                    "EUREKA_MODEL", "EUREKA_API_BASE")


@pytest.fixture(autouse=True)
def _no_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def sandbox_name() -> str:
    """The sandbox the end-to-end tests use: $EUREKA_TEST_SANDBOX, else auto (Docker, else bwrap)."""
    return os.environ.get("EUREKA_TEST_SANDBOX", "auto")


@pytest.fixture(scope="session")
def sandbox(sandbox_name: str):
    from eureka.sandbox import make_sandbox

    return make_sandbox(sandbox_name)
