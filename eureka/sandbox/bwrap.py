"""bubblewrap sandbox: a job runs in fresh namespaces, sees almost nothing of the host.

What the job gets:

- every namespace unshared (user, mount, pid, net, ipc, uts, cgroup): no network at all,
  not even loopback to the host; it sees only its own processes;
- a root made of read-only binds of only what Python needs (see `eureka.sandbox.mounts`):
  system dirs, ld.so.cache, the Python installation and site-packages, the eureka
  package; a fresh tmpfs /tmp and /dev/shm, its own /proc, a minimal /dev; the scratch
  dir read-write at /scratch. Nothing else of the host filesystem exists for it;
- a clean environment (`job_environment`), a new session (no terminal), death with its
  parent, no nested user namespaces;
- a seccomp filter (`eureka.sandbox.seccomp`: ptrace, mount, kexec, bpf, perf events,
  keyrings, new namespaces, ... fail with EPERM), compiled here and handed to bwrap's
  ``--seccomp`` by the launcher;
- an unprivileged uid: as root we drop to nobody (65534) before exec'ing bwrap, since
  bwrap run as root maps the sandbox user to host uid 0;
- limits: a per-job cgroup (v1 memory/pids/cpu hierarchies or a v2 dir) for memory
  without swap, process count and CPU share; rlimits for CPU seconds, file size and
  core dumps; a disk quota on the scratch dir (`eureka.sandbox.quota`); a wall-clock timeout that kills the process group, then anything left in
  the cgroup. OOM is read from the cgroup's oom_kill counter.

Python installed in a home directory that nobody cannot traverse (e.g. pyenv under
/root, mode 0700) is handled as root by staging: the child, still root, unshares a
private mount namespace, binds each needed directory (opened by fd) onto a small tmpfs,
then drops privileges; bwrap binds from there to the original paths.

Without root, bwrap runs as the calling user (its paths must be readable to it) and,
when no cgroup is writable, limits fall back to rlimits (address space, process count);
the check reports which limits are in force.
"""

from __future__ import annotations

import errno
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from eureka.sandbox import launch, seccomp
from eureka.sandbox.base import SandboxError, SandboxJob, SandboxLimits, SandboxResult, Verdict
from eureka.sandbox.mounts import (
    GROUP,
    PASSWD,
    SCRATCH_MOUNT,
    SYSTEM_FILES,
    lend_scratch,
    import_path,
    shown_paths,
    sandbox_ids,
    system_layout,
)
from eureka.sandbox.process import job_environment, run_child
from eureka.sandbox.quota import scratch_quota

if TYPE_CHECKING:
    from eureka.envs.user import UserCode

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "eureka"
V1_CONTROLLERS = ("memory", "pids", "cpu")
STAGE = launch.STAGE
CPU_PERIOD_US = 100_000

# Exit statuses above 128 are how bwrap (and docker-init) report a child killed by a signal.
SIGNAL_REASONS = {
    signal.SIGKILL: "killed by SIGKILL",
    signal.SIGXCPU: "killed by SIGXCPU: CPU time limit reached",
    signal.SIGXFSZ: "killed by SIGXFSZ: file size limit reached",
    signal.SIGSEGV: "killed by SIGSEGV: segmentation fault",
}


class CgroupUnavailable(RuntimeError):
    """No writable cgroup hierarchy with the memory and pids controllers."""


@dataclass
class JobCgroup:
    """One job's cgroup: a dir per v1 controller, or one v2 dir."""

    version: int
    dirs: dict[str, Path]  # controller -> dir (v2: every controller -> the same dir)

    @staticmethod
    def detect() -> int | None:
        if (CGROUP_ROOT / "memory" / "memory.limit_in_bytes").exists() and (CGROUP_ROOT / "pids").is_dir():
            return 1
        controllers = CGROUP_ROOT / "cgroup.controllers"
        if controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split()):
            return 2
        return None

    @classmethod
    def create(cls, limits: SandboxLimits) -> "JobCgroup":
        version = cls.detect()
        if version is None:
            raise CgroupUnavailable("no cgroup v1 memory+pids hierarchy and no cgroup v2 with memory+pids")
        name = f"job-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        group = cls(version, {})
        try:
            if version == 1:
                group._create_v1(name, limits)
            else:
                group._create_v2(name, limits)
        except OSError as exc:
            group.remove()
            raise CgroupUnavailable(f"cannot create a cgroup v{version}: {exc}") from exc
        return group

    def _create_v1(self, name: str, limits: SandboxLimits) -> None:
        memory = limits.memory_mb << 20
        for controller in V1_CONTROLLERS:
            base = CGROUP_ROOT / controller
            if not base.is_dir():
                continue  # cpu is optional: the CPU-seconds rlimit still holds
            parent = base / CGROUP_PARENT
            parent.mkdir(exist_ok=True)
            path = parent / name
            path.mkdir()
            self.dirs[controller] = path
        mem = self.dirs["memory"]
        _write(mem / "memory.limit_in_bytes", memory)
        if (mem / "memory.memsw.limit_in_bytes").exists():
            _write(mem / "memory.memsw.limit_in_bytes", memory)  # memory + swap = memory: no swap
        else:
            _write(mem / "memory.swappiness", 0)
        _write(self.dirs["pids"] / "pids.max", limits.max_pids)
        if "cpu" in self.dirs:
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", max(1000, int(limits.cpus * CPU_PERIOD_US)))

    def _create_v2(self, name: str, limits: SandboxLimits) -> None:
        wanted = {"memory", "pids", "cpu"} & set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
        parent = CGROUP_ROOT / CGROUP_PARENT
        _enable_controllers(CGROUP_ROOT, wanted)
        parent.mkdir(exist_ok=True)
        _enable_controllers(parent, wanted)
        path = parent / name
        path.mkdir()
        self.dirs = {c: path for c in ("memory", "pids", "cpu")}
        _write(path / "memory.max", limits.memory_mb << 20)
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", 0)
        _write(path / "pids.max", limits.max_pids)
        if (path / "cpu.max").exists():
            _write(path / "cpu.max", f"{max(1000, int(limits.cpus * CPU_PERIOD_US))} {CPU_PERIOD_US}")

    @property
    def procs_files(self) -> list[str]:
        """Files the child writes its pid to, to enter the cgroup (one per distinct dir)."""
        return [str(d / "cgroup.procs") for d in dict.fromkeys(self.dirs.values())]

    def oom_kills(self) -> int:
        mem = self.dirs.get("memory")
        if mem is None:
            return 0
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            fields = dict(line.split() for line in (mem / name).read_text().splitlines() if line.strip())
        except OSError:
            return 0
        if "oom_kill" in fields:
            return int(fields["oom_kill"])
        if self.version == 1:  # kernels before 4.13: no counter, only hits of the limit
            return int(_read(mem / "memory.failcnt") or 0)
        return int(fields.get("oom", 0))

    def pids(self) -> list[int]:
        path = self.dirs.get("pids")
        text = _read(path / "cgroup.procs") if path else None
        return [int(p) for p in (text or "").split()]

    def kill(self, timeout_s: float = 5.0) -> None:
        """SIGKILL every process left in the cgroup; wait until it is empty."""
        kill_file = self.dirs.get("pids", Path("/nonexistent")) / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            _write(kill_file, 1)
        deadline = time.monotonic() + timeout_s
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for path in dict.fromkeys(self.dirs.values()):
            for _ in range(200):  # rmdir is EBUSY while killed tasks finish exiting
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        raise
                    time.sleep(0.01)


def _write(path: Path, value: object) -> None:
    path.write_text(str(value))


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _enable_controllers(path: Path, controllers: set[str]) -> None:
    enabled = set((path / "cgroup.subtree_control").read_text().split())
    missing = controllers - enabled
    if missing:
        _write(path / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(missing)))


# --- staging (root only): bind directories nobody cannot reach onto a private tmpfs ---


@dataclass(frozen=True)
class Staging:
    """Sources opened as root in the child (by `eureka.sandbox.launch`) and bound at
    STAGE/<index>; STAGE/passwd and STAGE/group hold the sandbox's user database."""

    sources: tuple[str, ...]

    def path(self, index: int) -> str:
        return launch.stage_path(index)

    def to_json(self) -> dict:
        return {"sources": list(self.sources), "files": {"passwd": PASSWD, "group": GROUP}}


def launch_config(procs_files: Sequence[str], rlimits: Sequence[tuple[int, int]], staging: Staging | None,
                  ids: tuple[int, int] | None) -> dict:
    """The child's setup before bwrap (cgroup, rlimits, seccomp filter, staging, uid drop), for
    the launcher."""
    return {"die_with_parent": True, "procs_files": list(procs_files), "rlimits": [list(r) for r in rlimits],
            "seccomp": seccomp.launcher_config(),
            "staging": staging.to_json() if staging is not None else None,
            "ids": list(ids) if ids is not None else None}


@lru_cache(maxsize=None)
def _bwrap_features(bwrap: str) -> frozenset[str]:
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(flag for flag in ("--size", "--disable-userns") if flag in text)


def classify_exit(code: int | None, oom_kills: int, memory_mb: int) -> tuple[Verdict, str]:
    """Verdict from an exit status where >128 means killed by signal (status - 128)."""
    if code not in (None, 0) and oom_kills:
        return Verdict.OOM, f"oom: memory limit of {memory_mb} MB reached, killed"
    if code is not None and 128 < code <= 128 + 64:
        signum = code - 128
        try:
            sig = signal.Signals(signum)
        except ValueError:
            return Verdict.KILLED, f"killed by signal {signum}"
        return Verdict.KILLED, SIGNAL_REASONS.get(sig, f"killed by {sig.name}")
    return Verdict.OK, ""


class BwrapSandbox:
    """Runs each job under bubblewrap with per-job cgroup limits (see module docstring)."""

    name = "bwrap"
    user_code: UserCode | None = None  # the task's env code, shown read-only (eureka.envs.user)

    def __init__(self, bwrap: str | None = None, *, use_cgroups: bool | None = None) -> None:
        """`use_cgroups`: None = when writable (else rlimits, said by `limits_mode`), True = required."""
        path = bwrap or shutil.which("bwrap")
        if path is None:
            raise SandboxError("bubblewrap is not installed (apt-get install -y bubblewrap)")
        self.bwrap = path
        try:
            seccomp.bpf_program()
        except seccomp.SeccompUnavailable as exc:
            raise SandboxError(f"bwrap: no syscall filter can be built: {exc}") from exc
        self.use_cgroups = use_cgroups
        self.root_mode = os.geteuid() == 0
        self.limits_mode = "cgroup" if use_cgroups is not False and JobCgroup.detect() and self.root_mode else "rlimits"
        if use_cgroups and self.limits_mode != "cgroup":
            raise SandboxError("bwrap: cgroup limits were required but no writable cgroup v1/v2 "
                               "memory+pids hierarchy is available (run as root)")

    # -- public API --

    def run(self, job: SandboxJob) -> SandboxResult:
        python = sys.executable
        return self._run(job, [python, "-m", job.module, SCRATCH_MOUNT])

    def self_test(self, timeout_s: float = 20.0) -> tuple[bool, str]:
        """Run a trivial job end to end; (works, what went wrong or which limits hold)."""
        scratch = Path(tempfile.mkdtemp(prefix="eureka-bwrap-check-"))
        try:
            code = f"open('{SCRATCH_MOUNT}/result.json', 'w').write('{{}}')"
            limits = SandboxLimits(timeout_s=timeout_s, memory_mb=256)
            outcome = self._run(SandboxJob("<self-test>", scratch, limits), [sys.executable, "-c", code])
        except SandboxError as exc:
            return False, str(exc)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if not outcome.ok:
            return False, f"{outcome.detail}: {outcome.log_tail.strip()[-300:]}"
        return True, f"bubblewrap, limits by {self.limits_mode}" + (" (cgroup v%d)" % JobCgroup.detect()
                                                                     if self.limits_mode == "cgroup" else "")

    # -- internals --

    def _run(self, job: SandboxJob, command: list[str]) -> SandboxResult:
        with scratch_quota(job.scratch, job.limits):
            return self._run_with_quota(job, command)

    def _run_with_quota(self, job: SandboxJob, command: list[str]) -> SandboxResult:
        limits = job.limits
        ids = sandbox_ids()
        cgroup = None
        if self.limits_mode == "cgroup":
            try:
                cgroup = JobCgroup.create(limits)
            except CgroupUnavailable as exc:
                raise SandboxError(f"bwrap: {exc}") from exc
        staging = self._staging(job.scratch) if self.root_mode else None
        argv = launch.command(launch_config(cgroup.procs_files if cgroup else (), self._rlimits(limits, cgroup is None),
                                            staging, ids if self.root_mode else None),
                              self._argv(job, staging, command, ids))

        def classify(code: int) -> tuple[Verdict, str]:
            return classify_exit(code, cgroup.oom_kills() if cgroup else 0, limits.memory_mb)

        env = job_environment(SCRATCH_MOUNT, python_path=import_path(self.user_code))
        with lend_scratch(job.scratch, *ids):
            try:
                result = run_child(argv, job, env, classify=classify)
            finally:
                if cgroup is not None:
                    cgroup.remove()  # nothing of the job survives, before the scratch goes back
        if result.exit_code == launch.SETUP_FAILED and launch.PREFIX in result.log_tail:
            reason = result.log_tail.split(launch.PREFIX, 1)[1].strip().splitlines()[0]
            raise SandboxError(f"bwrap: setting up the child failed (cgroup, staging or uid drop): {reason}")
        return result

    def _staging(self, scratch: Path) -> Staging:
        return Staging((*shown_paths(self.user_code), str(scratch)))

    def _argv(self, job: SandboxJob, staging: Staging | None, command: list[str],
              ids: tuple[int, int]) -> list[str]:
        features = _bwrap_features(self.bwrap)
        size = ["--size", str(job.limits.memory_mb << 20)] if "--size" in features else []
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
                "--uid", str(ids[0]), "--gid", str(ids[1]), "--hostname", "sandbox"]
        if "--disable-userns" in features:
            argv.append("--disable-userns")
        argv += ["--seccomp", str(seccomp.BWRAP_FD)]
        argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", *size, "--tmpfs", "/dev/shm"]
        dirs, links = system_layout()
        for path in dirs:
            argv += ["--ro-bind", path, path]
        for path, target in links.items():
            argv += ["--symlink", target, path]
        for path in SYSTEM_FILES:
            argv += ["--ro-bind-try", path, path]
        shown = shown_paths(self.user_code)
        if staging is not None:
            for index, dest in enumerate(shown):
                argv += ["--ro-bind", staging.path(index), dest]
            argv += ["--bind", staging.path(len(shown)), SCRATCH_MOUNT]
            argv += ["--ro-bind", f"{STAGE}/passwd", "/etc/passwd", "--ro-bind", f"{STAGE}/group", "/etc/group"]
        else:
            for dest in shown:
                argv += ["--ro-bind", dest, dest]
            argv += ["--bind", str(job.scratch), SCRATCH_MOUNT]
        argv += ["--remount-ro", "/", "--chdir", SCRATCH_MOUNT, "--clearenv"]
        for key, value in job_environment(SCRATCH_MOUNT, python_path=import_path(self.user_code)).items():
            argv += ["--setenv", key, value]
        return argv + ["--", *command]

    @staticmethod
    def _rlimits(limits: SandboxLimits, without_cgroup: bool) -> list[tuple[int, int]]:
        cpu_s = math.ceil(limits.timeout_s * max(1.0, limits.cpus)) + 2
        out = [(resource.RLIMIT_CPU, cpu_s), (resource.RLIMIT_FSIZE, limits.max_file_mb << 20),
               (resource.RLIMIT_CORE, 0)]
        if without_cgroup:  # weaker stand-ins: virtual size (JAX reserves a lot), per-uid processes
            out += [(resource.RLIMIT_AS, (limits.memory_mb << 20) * 4), (resource.RLIMIT_NPROC, limits.max_pids)]
        return out


def bwrap_available() -> tuple[bool, str]:
    """Whether bwrap can run a job here, and why not."""
    try:
        sandbox = BwrapSandbox()
    except SandboxError as exc:
        return False, str(exc)
    return sandbox.self_test()
