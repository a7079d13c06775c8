"""Backend selection, verdict classification, the offline image, limits inside each backend."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from eureka.sandbox import SandboxError, SandboxJob, SandboxLimits, Verdict, make_sandbox
from eureka.sandbox.bwrap import classify_exit
from eureka.sandbox.images import SandboxCheck, check_sandboxes, offline_rootfs
from eureka.sandbox.mounts import lend_scratch


def _raise(message: str):
    def factory(*args, **kwargs):
        raise SandboxError(message)

    return factory


class TestSelection:
    def test_auto_never_falls_back_to_unsandboxed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import eureka.sandbox.bwrap as bwrap
        import eureka.sandbox.docker as docker

        monkeypatch.setattr(docker, "DockerSandbox", _raise("engine down"))
        monkeypatch.setattr(bwrap, "BwrapSandbox", _raise("bwrap missing"))
        with pytest.raises(SandboxError, match=r"no sandbox backend works.*engine down.*bwrap missing.*setup\.sh"):
            make_sandbox("auto")

    def test_auto_takes_bwrap_when_docker_is_down(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import eureka.sandbox.docker as docker

        monkeypatch.setattr(docker, "DockerSandbox", _raise("engine down"))
        try:
            sandbox = make_sandbox("auto")
        except SandboxError as exc:
            pytest.skip(f"bwrap does not work here either: {exc}")
        assert sandbox.name == "bwrap"

    def test_unknown_backend(self) -> None:
        with pytest.raises(SandboxError, match="unknown sandbox backend 'chroot'"):
            make_sandbox("chroot")

    def test_check_returns_one_typed_result_per_backend(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import eureka.sandbox.docker as docker

        monkeypatch.setattr(docker, "DockerSandbox", _raise("engine down"))
        checks = check_sandboxes(("docker",))
        assert checks == [SandboxCheck("docker", False, "engine down", None)]


@pytest.mark.parametrize("code, oom, verdict, detail", [
    (137, 0, Verdict.KILLED, "killed by SIGKILL"),
    (137, 1, Verdict.OOM, "oom: memory limit of 256 MB reached, killed"),
    (152, 0, Verdict.KILLED, "killed by SIGXCPU: CPU time limit reached"),
    (0, 0, Verdict.OK, ""),
    (1, 0, Verdict.OK, ""),  # an ordinary failure: left to the caller (ERROR)
])
def test_classify_exit(code: int, oom: int, verdict: Verdict, detail: str) -> None:
    assert classify_exit(code, oom, 256) == (verdict, detail)


def test_offline_image_is_a_bare_root() -> None:
    import io

    with tarfile.open(fileobj=io.BytesIO(offline_rootfs())) as tar:
        members = {m.name: m for m in tar.getmembers()}
        passwd = tar.extractfile("etc/passwd").read().decode()
    assert members["sbin"].isdir(), "/sbin must hold docker-init, outside the read-only /usr bind"
    assert members["tmp"].mode == 0o1777
    assert passwd.startswith("nobody:x:65534:65534:")
    if os.path.islink("/bin"):
        assert members["bin"].issym() and members["bin"].linkname == os.readlink("/bin")
    assert all(m.isdir() or m.issym() or m.name in ("etc/passwd", "etc/group") for m in members.values())


@pytest.mark.skipif(os.geteuid() != 0, reason="handing the scratch dir to nobody needs root")
def test_lend_scratch_gives_the_tree_back_without_following_links(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "sub").mkdir(parents=True)
    (scratch / "job.json").write_text("{}")
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    (scratch / "link").symlink_to(outside)
    with lend_scratch(scratch, 65534, 65534):
        assert {p.lstat().st_uid for p in [scratch, *scratch.rglob("*")]} == {65534}
        assert outside.stat().st_uid == 0
        (scratch / "made-by-job").touch()
        os.lchown(scratch / "made-by-job", 65534, 65534)
    assert {p.lstat().st_uid for p in [scratch, *scratch.rglob("*")]} == {0}
    assert outside.stat().st_uid == 0


LIMITS_JOB = """import json, os, socket, sys, time

forks = 0
children = []
for _ in range(100):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
    forks += 1
for pid in children:
    os.kill(pid, 9)
try:
    with open("/scratch/big", "wb") as fh:
        fh.write(b"x" * (3 << 20))
    big = "written"
except OSError as exc:
    big = exc.strerror
interfaces = sorted(name for _, name in socket.if_nameindex())
json.dump({"forks": forks, "big": big, "interfaces": interfaces, "uid": os.getuid(), "cwd": os.getcwd()},
          open(sys.argv[1] + "/result.json", "w"))
"""


def test_limits_hold_inside(real_sandbox, tmp_path: Path) -> None:
    """Process count and file size are capped; no network interface but loopback."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "limits_job.py").write_text(LIMITS_JOB)  # `python -m` finds it in the cwd
    limits = SandboxLimits(timeout_s=30, memory_mb=512, max_pids=24, max_file_mb=2)
    outcome = real_sandbox.run(SandboxJob("limits_job", scratch, limits))
    assert outcome.ok, (outcome.detail, outcome.log_tail[-500:])
    seen = outcome.result
    assert 0 < seen["forks"] < 24, seen
    assert seen["big"] == "File too large"
    assert set(seen["interfaces"]) <= {"lo"}, seen
    assert seen["cwd"] == "/scratch"
    assert json.loads((scratch / "result.json").read_text()) == seen
    assert scratch.stat().st_uid == os.getuid(), "the scratch dir is given back"
