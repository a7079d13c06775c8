"""Hostile generated code, run through the real critic probe under each real sandbox.

Each corpus file (tests/sandbox/corpus/) is a generated-looking reward that tries one
thing: reach the network or the Docker socket, write outside its scratch dir, read a
planted secret file or API key, fork-bomb, allocate 4 GB, spin, print 100 MB, sleep past
the timeout, kill its parent, ptrace a process of its own, fill the disk. For every case and backend we check that the attempt
failed or was killed, that the verdict names what happened, that the host is unchanged
(no file written, no connection made, no secret in any output, no process, container or
cgroup left), and that a good reward probed right after still passes.

Docker and bwrap are never skipped silently: with CI=true a missing engine fails the
test with the reason; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sysconfig
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from eureka.critic.checks import Critic, static_problems
from eureka.envs import sample_transitions, space_info
from eureka.sandbox import SandboxLimits
from eureka.sandbox.base import SandboxJob, SandboxResult
from eureka.task import EnvSpec

CORPUS = Path(__file__).parent / "corpus"
LIMITS = SandboxLimits(timeout_s=5.0, memory_mb=256, max_pids=64, cpus=1.0, max_file_mb=16,
                       max_output_bytes=64_000, scratch_mb=64)
SANDBOX_UID = 65534

GOOD = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    alive = np.where(terminated, -1.0, 1.0)
    return alive + upright, {"alive": alive, "upright": upright}
"""


@dataclass(frozen=True)
class Case:
    """What must happen: the sandbox verdict, and a pattern the verdict's text must match
    (the critic's problems when the job itself ran and reported, else the sandbox detail)."""

    verdict: str
    reason: str
    static_clean: bool = False  # passes the critic's static checks: only the sandbox stops it


CASES = {
    "network_socket": Case("ok", r"ConnectionRefusedError|Network is unreachable"),
    "docker_socket": Case("ok", r"FileNotFoundError"),
    "write_outside": Case("ok", r"FileNotFoundError"),
    "write_site_packages": Case("ok", r"Read-only file system|Permission denied", static_clean=True),
    "read_secret_file": Case("ok", r"FileNotFoundError", static_clean=True),
    "read_env_key": Case("ok", r"KeyError: 'OPENAI_API_KEY'"),
    "fork_bomb": Case("timeout", r"^timeout: killed after 5 s$"),
    "allocate_4gb": Case("oom", r"^oom: memory limit of 256 MB reached", static_clean=True),
    "spin_forever": Case("timeout", r"^timeout: killed after 5 s$", static_clean=True),
    "print_flood": Case("ok", r"OSError: \[Errno 27\] File too large", static_clean=True),
    "sleep_past_timeout": Case("timeout", r"^timeout: killed after 5 s$"),
    "kill_parent": Case("killed", r"^killed by SIGKILL$"),
    "fill_disk": Case("error", r"no result.json.*No space left on device", static_clean=True),
    "ptrace_child": Case("ok", r"ptrace attach refused: Operation not permitted", static_clean=True),
}


class Recording:
    """Wraps a sandbox to keep the last raw result (log tail, result.json) for inspection."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.last: SandboxResult | None = None

    def run(self, job: SandboxJob) -> SandboxResult:
        self.last = self.inner.run(job)
        return self.last


class Listener:
    """A TCP listener on 127.0.0.1 that counts every connection it is offered."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def backend(real_sandbox) -> Recording:
    return Recording(real_sandbox)


@pytest.fixture(scope="module")
def space():
    return space_info(EnvSpec(id="CartPole-v1"))


@pytest.fixture(scope="module")
def critic(backend, space) -> Critic:
    return Critic(backend, space, sample_transitions(EnvSpec(id="CartPole-v1"), 64, seed=3), LIMITS)


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listener: Listener):
    """Host state the hostile code goes for: a secret file, an API key, places to write."""
    file_secret = f"file-secret-{uuid.uuid4().hex}"
    env_secret = f"sk-fake-{uuid.uuid4().hex}"
    secret_path = tmp_path / "credentials.txt"
    secret_path.write_text(file_secret)
    monkeypatch.setenv("OPENAI_API_KEY", env_secret)
    site_target = Path(sysconfig.get_paths()["purelib"]) / f"eureka_escape_{uuid.uuid4().hex}.npy"
    targets = {"write_outside": tmp_path / "escaped.txt", "write_site_packages": site_target}
    yield {"file_secret": file_secret, "env_secret": env_secret, "secret_path": secret_path,
           "targets": targets, "port": listener.port}
    for path in targets.values():
        path.unlink(missing_ok=True)


def corpus_code(case: str, planted: dict) -> str:
    code = (CORPUS / f"{case}.py").read_text()
    target = planted["targets"].get(case, Path("/nonexistent"))
    return (code.replace("@PORT@", str(planted["port"])).replace("@TARGET@", str(target))
            .replace("@SECRET_PATH@", str(planted["secret_path"])))


def job_processes() -> set[int]:
    """Our descendants running as the sandbox uid: a bwrap job that outlived its run.

    (Only descendants: other people's sandboxes may run on this machine at the same time.)
    """
    parents: dict[int, int] = {}
    uids: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        uid = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
        if ppid and uid:
            parents[int(entry.name)] = int(ppid.group(1))
            uids[int(entry.name)] = int(uid.group(1))
    me, found = os.getpid(), set()
    for pid, uid in uids.items():
        ancestor, hops = parents.get(pid), 0
        while ancestor and ancestor != me and hops < 64:
            ancestor, hops = parents.get(ancestor), hops + 1
        if ancestor == me and uid == SANDBOX_UID:
            found.add(pid)
    return found


def leftovers(backend_name: str) -> list[str]:
    """Containers or cgroups of this test process that outlived their job."""
    if backend_name == "docker":
        from eureka.sandbox.docker import JOB_LABEL, connect

        mine = {"label": f"{JOB_LABEL}={os.getpid()}"}
        return [c.id for c in connect().containers.list(all=True, filters=mine, sparse=True)]
    from eureka.sandbox.bwrap import CGROUP_PARENT, CGROUP_ROOT

    return [str(p) for p in CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}/job-{os.getpid()}-*")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_reward_is_contained(case: str, backend: Recording, critic: Critic, space, planted,
                                     listener: Listener) -> None:
    expected = CASES[case]
    if case == "fill_disk" and os.geteuid() != 0:
        pytest.skip("the scratch quota is a tmpfs mounted as root; without root only the file-size limit holds")
    code = corpus_code(case, planted)
    if expected.static_clean:
        assert static_problems(code, space) == [], "this case must get past the static checks"
    connections_before = listener.connections

    start = time.monotonic()
    verdict = critic.probe(code)
    wall = time.monotonic() - start
    raw = backend.last
    assert raw is not None

    # The attempt failed or was killed, and the verdict says how.
    assert not verdict.accepted, verdict.to_json()
    assert verdict.sandbox_verdict == expected.verdict, (verdict.to_json(), raw.log_tail[-500:])
    text = " ".join(verdict.problems) if expected.verdict in ("ok", "error") else (verdict.sandbox_detail or "")
    assert re.search(expected.reason, text), (text, raw.log_tail[-500:])
    assert wall < LIMITS.timeout_s + 10, f"the sandbox took {wall:.1f} s to give up"

    # The host is unchanged.
    for path in planted["targets"].values():
        assert not path.exists(), f"{case} wrote {path} on the host"
    assert listener.connections == connections_before, "a connection reached the host listener"
    assert planted["secret_path"].read_text() == planted["file_secret"]
    visible = json.dumps(verdict.to_json()) + raw.log_tail + json.dumps(raw.result) + raw.detail
    assert planted["file_secret"] not in visible
    assert planted["env_secret"] not in visible
    assert len(raw.log_tail) <= LIMITS.max_output_bytes
    deadline = time.monotonic() + 5
    while (job_processes() or leftovers(backend.name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not job_processes(), "processes of the job outlived it"
    assert not leftovers(backend.name), "a container or cgroup of the job outlived it"

    # The run continues: a good reward probed right after still passes.
    good = critic.probe(GOOD)
    assert good.accepted, good.to_json()
    assert good.components == ["alive", "upright"]


def test_job_sees_only_what_python_needs(backend: Recording, critic: Critic, tmp_path: Path) -> None:
    """The job's view of the host: no home, no repository besides the package, no host /tmp."""
    probe = """import os
import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    views = {
        "root": os.listdir("/"), "etc": os.listdir("/etc"), "tmp": os.listdir("/tmp"),
        "repo": os.listdir(os.environ["PYTHONPATH"]), "uid": [str(os.getuid())], "env": list(os.environ),
    }
    return upright, {k + "=" + ",".join(sorted(v)): upright for k, v in views.items()}
"""
    (tmp_path / "marker").write_text("host tmp")
    verdict = critic.probe(probe)
    assert verdict.accepted, verdict.to_json()
    seen = {name.split("=")[0]: set(filter(None, name.split("=", 1)[1].split(","))) for name in verdict.components}
    assert not {"home", "var", "srv", "opt", "mnt", "boot"} & seen["root"], seen["root"]
    # Docker adds its own hostname, hosts and resolv.conf (empty of secrets, no network anyway).
    assert seen["etc"] <= {"passwd", "group", "ld.so.cache", "hostname", "hosts", "resolv.conf", "mtab"}, seen["etc"]
    assert seen["tmp"] == set()
    assert seen["repo"] == {"eureka"}, "only the package of the repository is shown"
    assert seen["uid"] == {str(SANDBOX_UID if os.geteuid() == 0 else os.getuid())}
    assert "OPENAI_API_KEY" not in seen["env"] and "EUREKA_SCRATCH" in seen["env"]
