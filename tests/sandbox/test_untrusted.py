"""Reading job outputs as untrusted: links, special files, size, depth, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from eureka.sandbox.base import read_result, tail
from eureka.sandbox.untrusted import (
    REDACTED,
    UntrustedOutput,
    copy_job_file,
    json_depth,
    load_job_npz,
    read_job_json,
    read_job_tail,
    scrub,
)
from eureka.training.runner import CandidateCode, _collect_artifacts


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "host-secret.txt"
    path.write_text('{"secret": "host-only"}')
    return path


@pytest.fixture
def job(tmp_path: Path) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def test_a_symlinked_result_is_refused_not_followed(job: Path, secret: Path) -> None:
    (job / "result.json").symlink_to(secret)
    result, why = read_result(job)
    assert result is None and "result.json refused" in why
    (job / "proc").symlink_to("/proc/self")
    with pytest.raises(UntrustedOutput):
        read_job_json(job, "proc/environ")


def test_a_symlinked_parent_directory_and_dotdot_are_refused(job: Path, secret: Path) -> None:
    (job / "sub").symlink_to(secret.parent)
    with pytest.raises(UntrustedOutput, match="not a plain directory"):
        read_job_json(job, f"sub/{secret.name}")
    for path in ("../host-secret.txt", "/etc/passwd", "a/./b"):
        with pytest.raises(UntrustedOutput, match="not a plain path"):
            read_job_json(job, path)


def test_a_fifo_does_not_block_and_is_refused(job: Path) -> None:
    os.mkfifo(job / "result.json")
    assert read_result(job)[0] is None


def test_size_is_capped_before_reading(job: Path) -> None:
    (job / "result.json").write_bytes(b'"' + b"x" * 2000 + b'"')
    with pytest.raises(UntrustedOutput, match="over the limit"):
        read_job_json(job, "result.json", max_bytes=1000)


def test_deep_json_is_refused_before_parsing(job: Path) -> None:
    (job / "result.json").write_text("[" * 200_000 + "]" * 200_000)
    result, why = read_result(job)
    assert result is None and "nested 200000 levels" in why
    assert json_depth(b'{"a": "[[[[[[", "b": [[1]]}') == 3  # brackets inside strings do not count


def test_missing_result_says_so(job: Path) -> None:
    assert read_result(job) == (None, "no result.json")


def test_npz_is_never_unpickled(job: Path) -> None:
    np.savez(job / "ok.npz", a=np.arange(3))
    assert load_job_npz(job, "ok.npz", 1 << 20)["a"].tolist() == [0, 1, 2]
    np.savez(job / "pickled.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(UntrustedOutput):
        load_job_npz(job, "pickled.npz", 1 << 20)


def test_log_tail_through_a_link_is_empty(job: Path, secret: Path) -> None:
    (job / "output.log").symlink_to("/proc/self/environ")
    assert read_job_tail(job, "output.log", 1000) == b""
    (job / "plain.log").write_bytes(b"0123456789")
    assert read_job_tail(job, "plain.log", 4) == b"6789"


def test_copy_refuses_a_link_and_replaces_a_link_at_the_destination(job: Path, secret: Path, tmp_path: Path) -> None:
    (job / "a").write_bytes(b"data")
    target = tmp_path / "dest"
    target.symlink_to(secret)
    assert copy_job_file(job, "a", target, 100) == 4
    assert not target.is_symlink() and target.read_bytes() == b"data"
    assert secret.read_text() == '{"secret": "host-only"}'


def test_secrets_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "hunter2-value-xyz")
    text = "key sk-abcdefghijklmnopqrstuvwx and hunter2-value-xyz and AKIAABCDEFGHIJKLMNOP ok"
    cleaned = scrub({"k": [text], text: 1})
    assert cleaned == {"k": [f"key {REDACTED} and {REDACTED} and {REDACTED} ok"],
                       f"key {REDACTED} and {REDACTED} and {REDACTED} ok": 1}
    assert "hunter2" not in tail(text.encode(), 1000)


def test_artifacts_keep_allowed_regular_files_only(job: Path, secret: Path, tmp_path: Path) -> None:
    own = job / "0"
    own.mkdir()
    (own / "policy_seed0.zip").write_bytes(b"policy")
    (own / "reward.py").write_text("overwrite the host's copy")
    (own / "candidate.json").write_text("{}")
    (own / "rollouts_seed0.npz").symlink_to(secret)
    (own / "rollout_seed0.json").write_text("[" * 5000 + "]" * 5000)
    (job / "1").symlink_to(secret.parent)
    first, second = tmp_path / "c0", tmp_path / "c1"
    refused = _collect_artifacts(job, [CandidateCode("c0", "", first), CandidateCode("c1", "", second)])
    assert sorted(p.name for p in first.iterdir()) == ["policy_seed0.zip"]
    assert not second.exists()
    assert len(refused) == 5, refused


def test_artifact_count_and_total_size_are_capped(job: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import eureka.training.runner as runner

    monkeypatch.setattr(runner, "MAX_ARTIFACT_TOTAL_BYTES", 2500)
    own = job / "0"
    own.mkdir()
    for seed in range(40):
        (own / f"policy_seed{seed}.zip").write_bytes(b"x" * 1000)
    dest = tmp_path / "c0"
    refused = _collect_artifacts(job, [CandidateCode("c0", "", dest)])
    assert len(list(dest.iterdir())) == 2
    assert sum(p.stat().st_size for p in dest.iterdir()) <= 2500
    assert refused
