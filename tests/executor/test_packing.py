"""The scratch folder's trip to a worker node and back: only regular files, capped, and
nothing written outside the folder whatever the archive says."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from eureka.executor.packing import TransferTooLarge, pack, unpack


def test_regular_files_travel_links_do_not(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "artifacts" / "0").mkdir(parents=True)
    (source / "job.json").write_text("{}")
    (source / "artifacts" / "0" / "policy.zip").write_bytes(b"x" * 100)
    os.symlink("/etc/passwd", source / "artifacts" / "0" / "passwd")
    os.symlink("/etc", source / "etc")
    packed = pack(source, 1 << 20)
    assert sorted(packed.files) == ["artifacts/0/policy.zip", "job.json"]
    target = tmp_path / "target"
    target.mkdir()
    assert unpack(packed.data, target, 1 << 20) == packed.files
    assert (target / "artifacts" / "0" / "policy.zip").read_bytes() == b"x" * 100
    assert not (target / "etc").exists()


def test_inputs_over_the_cap_refuse_outputs_leave_files_out(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"0" * 2048)
    (tmp_path / "small.json").write_text("{}")
    with pytest.raises(TransferTooLarge):
        pack(tmp_path, 1024)
    packed = pack(tmp_path, 1024, strict=False)
    assert packed.files == ["small.json"] and "big.bin" in packed.left_out[0]
    assert pack(tmp_path, 1 << 20, skip=frozenset({"big.bin"})).files == ["small.json"]


@pytest.mark.parametrize("name", ["../escaped.txt", "/tmp/escaped-absolute.txt"])
def test_a_hostile_archive_cannot_write_outside_the_folder(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    target = tmp_path / "scratch"
    target.mkdir()
    try:
        unpack(buffer.getvalue(), target, 1 << 20)  # an absolute name lands inside, its "/" stripped
    except tarfile.TarError:
        pass  # a ".." name is refused
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped-absolute.txt").exists()
