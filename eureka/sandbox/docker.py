"""Docker sandbox: one fresh container per job, removed after it, whatever happens.

Each container: no network (``network_mode="none"``), a read-only root, a tmpfs /tmp,
the scratch dir read-write at /scratch, the eureka package read-only, memory limit equal
to memory+swap limit (no swap), a pids limit, a CPU quota, every capability dropped,
``no-new-privileges``, the syscall filter of `eureka.sandbox.seccomp` (Docker's default
profile lets ptrace through), uid:gid 65534 (nobody; the caller's own ids when not root), an
init process as pid 1 (so the job cannot be pid 1, which ignores signals, and orphans
are reaped), rlimits for CPU seconds, file size and core dumps, a disk quota on the scratch dir
(`eureka.sandbox.quota`), and the environment of
`job_environment` only.

Output: the job's stdout+stderr go to a file on the host (a private, per-job directory
bound at /eureka-log), capped by the file-size rlimit; only its tail is kept. Docker's own
log driver sees nothing but a failure of the shell that starts the job.

Images (see `eureka.sandbox.images` and sandboxes/):

- ``eureka-sandbox:offline`` (label ``eureka.sandbox.mode=host-python``): an empty root
  built locally with no registry; the host's /usr, ld.so.cache and Python installation are
  bound read-only at their own paths and the host interpreter runs the job;
- a self-contained image (sandboxes/Dockerfile: python:3.11-slim with numpy, jax, torch,
  gymnasium; any other label value): its own ``python`` runs the job, only the eureka
  package and the scratch dir come from the host.

GPU: ``DockerSandbox(gpus="all")`` (or a count, or device ids "0,1") passes GPUs through with a
``device_requests`` entry, as ``docker run --gpus`` does. It needs the NVIDIA Container
Toolkit on the host and an image with CUDA libraries (sandboxes/Dockerfile.gpu); untested
here (no GPU).

The wall-clock timeout is enforced here, not by the client process: on timeout or any
error the container is killed and removed by id (killing a ``docker run`` client leaves
its container running). Should this process die mid-job, coreutils' ``timeout`` (the job's
parent inside the container) kills the job a few seconds after the deadline, which ends
the container; containers carry the label ``eureka.sandbox.job`` (the owner's pid) so
that `remove_stale_containers` (run when a DockerSandbox is made) removes them.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eureka.sandbox.base import SandboxError, SandboxJob, SandboxResult, Verdict, read_result, tail
from eureka.sandbox.bwrap import classify_exit
from eureka.sandbox.mounts import (
    SCRATCH_MOUNT,
    SYSTEM_FILES,
    lend_scratch,
    import_path,
    package_dir,
    python_dirs,
    user_paths,
    sandbox_ids,
    system_layout,
)
from eureka.sandbox.process import job_environment
from eureka.sandbox.quota import scratch_quota
from eureka.sandbox.seccomp import docker_profile
from eureka.sandbox.untrusted import read_job_tail

if TYPE_CHECKING:
    from eureka.envs.user import UserCode

OFFLINE_IMAGE = "eureka-sandbox:offline"
MODE_LABEL = "eureka.sandbox.mode"
HOST_PYTHON = "host-python"
JOB_LABEL = "eureka.sandbox.job"
LOG_MOUNT = "/eureka-log"
LOG_FILE = "output.log"
PING_TIMEOUT_S = 2.0
API_TIMEOUT_S = 30.0
# Removes exited containers in the background; joined at interpreter exit.
_REMOVER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eureka-docker-remove")
# The job's command: a POSIX shell sends its output to the host log file, then becomes
# coreutils' `timeout`, the job's parent: a dead man's switch that kills the job (and so
# ends the container) a little after our own deadline, should this process die mid-job.
LAUNCH = ["/bin/sh", "-c", f'limit=$1; shift; exec timeout -s KILL "$limit" "$@" >{LOG_MOUNT}/{LOG_FILE} 2>&1',
          "eureka-job"]
SWITCH_GRACE_S = 5


def connect(timeout_s: float = PING_TIMEOUT_S) -> Any:
    """A Docker client whose engine answered a ping within timeout_s, else SandboxError."""
    try:
        import docker
    except ImportError as exc:
        raise SandboxError("the docker Python package is missing (pip install docker)") from exc
    try:
        client = docker.from_env(timeout=max(1, math.ceil(timeout_s)))
        client.ping()
    except Exception as exc:  # DockerException, requests errors: the engine is not there
        raise SandboxError(f"the Docker engine does not answer ({type(exc).__name__}: {exc}); "
                           "install docker.io and start dockerd (sudo sandboxes/setup.sh)") from exc
    client.api.timeout = API_TIMEOUT_S
    return client


class DockerSandbox:
    """Runs each job in a new, locked-down container (see module docstring)."""

    name = "docker"
    user_code: UserCode | None = None  # the task's env code, shown read-only (eureka.envs.user)

    def __init__(self, image: str = OFFLINE_IMAGE, *, client: Any = None,
                 gpus: str | int | list[str] | None = None) -> None:
        self.client = client or connect()
        self.image = image
        self.gpus = gpus
        from docker.errors import DockerException, ImageNotFound

        try:
            found = self.client.images.get(image)
        except ImageNotFound as exc:
            hint = ("build it with `eureka sandbox build` or sandboxes/setup.sh" if image == OFFLINE_IMAGE
                    else "build it from sandboxes/Dockerfile")
            raise SandboxError(f"Docker image {image!r} not found: {hint}") from exc
        except DockerException as exc:
            raise SandboxError(f"Docker engine error while looking up {image!r}: {exc}") from exc
        self.host_python = (found.labels or {}).get(MODE_LABEL) == HOST_PYTHON
        remove_stale_containers(self.client)  # left by a parent that died mid-job

    def run(self, job: SandboxJob) -> SandboxResult:
        with scratch_quota(job.scratch, job.limits):
            return self._run(job)

    def _run(self, job: SandboxJob) -> SandboxResult:
        from docker.errors import DockerException

        limits = job.limits
        uid, gid = sandbox_ids()
        start = time.monotonic()
        log_dir = Path(tempfile.mkdtemp(prefix="eureka-docker-log-"))
        container = None
        exited = False
        docker_log = b""
        try:
            with lend_scratch(job.scratch, uid, gid), lend_scratch(log_dir, uid, gid):
                try:
                    container = self.client.containers.create(**self._container_args(job, log_dir, uid, gid))
                    container.start()
                    timed_out = not self._wait(container, start + limits.timeout_s)
                    container.reload()
                    state = container.attrs["State"]
                    if state.get("ExitCode") != 0:
                        docker_log = container.logs(tail=20)  # the launching shell's own errors
                    exited = not timed_out and state.get("Status") == "exited"
                except DockerException as exc:
                    raise SandboxError(f"Docker failed to run the job: {exc}") from exc
                finally:
                    if exited:  # its processes are gone (pid 1 exited): remove off the critical path
                        _REMOVER.submit(_remove_quietly, container)
                    else:  # still running (timeout) or unknown (error): kill and remove it now
                        _remove(container)
            log_tail = _log_tail(log_dir / LOG_FILE, limits.max_output_bytes, docker_log)
        finally:
            shutil.rmtree(log_dir, ignore_errors=True)
        wall = time.monotonic() - start
        code = state.get("ExitCode")
        result, refusal = read_result(job.scratch)
        if timed_out:
            return SandboxResult(Verdict.TIMEOUT, None, result, log_tail, wall,
                                 f"timeout: killed after {limits.timeout_s:g} s")
        if state.get("OOMKilled"):
            return SandboxResult(Verdict.OOM, code, result, log_tail, wall,
                                 f"oom: memory limit of {limits.memory_mb} MB reached, killed")
        verdict, detail = classify_exit(code, 0, limits.memory_mb)
        if verdict is not Verdict.OK:
            return SandboxResult(verdict, code, result, log_tail, wall, detail)
        if code == 0 and result is not None:
            return SandboxResult(Verdict.OK, code, result, log_tail, wall, "ok")
        detail = f"exit code {code}" + ("" if result is not None else f", {refusal}")
        return SandboxResult(Verdict.ERROR, code, result, log_tail, wall, detail)

    # -- internals --

    def _container_args(self, job: SandboxJob, log_dir: Path, uid: int, gid: int) -> dict[str, Any]:
        import docker

        limits = job.limits
        memory = f"{limits.memory_mb}m"
        volumes: dict[str, dict[str, str]] = {
            str(job.scratch): {"bind": SCRATCH_MOUNT, "mode": "rw"},
            str(log_dir): {"bind": LOG_MOUNT, "mode": "rw"},
            package_dir(): {"bind": package_dir(), "mode": "ro"},
        }
        volumes.update({path: {"bind": path, "mode": "ro"} for path in user_paths(self.user_code)})
        if self.host_python:
            dirs, _links = system_layout()  # the offline image holds the matching symlinks
            shown = dirs + [f for f in SYSTEM_FILES if os.path.exists(f)] + python_dirs()
            volumes.update({path: {"bind": path, "mode": "ro"} for path in shown})
            python = sys.executable
        else:
            python = "python"
        environment = job_environment(SCRATCH_MOUNT, python_path=import_path(self.user_code))
        if self.gpus is not None:
            environment.pop("JAX_PLATFORMS", None)  # job_environment pins JAX to the CPU
        cpu_s = math.ceil(limits.timeout_s * max(1.0, limits.cpus)) + 2
        file_bytes = limits.max_file_mb << 20
        args: dict[str, Any] = dict(
            image=self.image,
            command=[*LAUNCH, str(math.ceil(limits.timeout_s) + SWITCH_GRACE_S), python, "-m", job.module,
                     SCRATCH_MOUNT],
            user=f"{uid}:{gid}",
            environment=environment,
            working_dir=SCRATCH_MOUNT,
            volumes=volumes,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"size={memory},mode=1777", "/dev/shm": f"size={memory},mode=1777"},
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=limits.max_pids,
            nano_cpus=int(limits.cpus * 1e9),
            cap_drop=["ALL"],
            security_opt=["no-new-privileges", f"seccomp={docker_profile()}"],
            ulimits=[docker.types.Ulimit(name="cpu", soft=cpu_s, hard=cpu_s),
                     docker.types.Ulimit(name="fsize", soft=file_bytes, hard=file_bytes),
                     docker.types.Ulimit(name="core", soft=0, hard=0)],
            init=True,
            hostname="sandbox",
            labels={JOB_LABEL: str(os.getpid())},
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "64k", "max-file": "1"}),
            detach=True,
        )
        if self.gpus is not None:
            args["device_requests"] = [gpu_request(self.gpus)]
        return args

    def _wait(self, container: Any, deadline: float) -> bool:
        """Wait for the container to exit before deadline; False on timeout."""
        import requests

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            container.wait(timeout=remaining)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            return time.monotonic() < deadline and _exited(container)
        return True


def _remove(container: Any) -> None:
    """Kill (if running) and remove the container."""
    if container is None:
        return
    from docker.errors import DockerException, NotFound

    try:
        container.remove(force=True)
    except NotFound:
        pass
    except DockerException as exc:
        raise SandboxError(f"could not remove container {container.id[:12]}: {exc}") from exc


def _remove_quietly(container: Any) -> None:
    try:
        _remove(container)
    except SandboxError:
        pass  # an exited container left behind: remove_stale_containers() collects it


def _exited(container: Any) -> bool:
    try:
        container.reload()
    except Exception:
        return False
    return container.attrs["State"].get("Status") == "exited"


def _log_tail(path: Path, limit: int, docker_log: bytes) -> str:
    """The job can replace its log file (a symlink to /proc/self/environ would bring this
    process's environment in): it is read as untrusted, never through a link."""
    return tail(read_job_tail(path.parent, path.name, limit) + docker_log, limit)


def gpu_request(gpus: str | int | list[str]) -> Any:
    """A device request like `docker run --gpus`: "all", a count, or device ids ("0,1" or a list)."""
    import docker

    if isinstance(gpus, str) and gpus != "all":
        gpus = [g.strip() for g in gpus.split(",") if g.strip()]
    if gpus == "all":
        return docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])
    if isinstance(gpus, int):
        return docker.types.DeviceRequest(count=gpus, capabilities=[["gpu"]])
    return docker.types.DeviceRequest(device_ids=list(gpus), capabilities=[["gpu"]])


def remove_stale_containers(client: Any = None) -> int:
    """Remove job containers whose parent process is gone (it died mid-job); how many."""
    from docker.errors import DockerException

    client = client or connect()
    count = 0
    for container in client.containers.list(all=True, filters={"label": JOB_LABEL}, sparse=True):
        owner = (container.attrs.get("Labels") or {}).get(JOB_LABEL, "")
        if not owner.isdigit() or _pid_alive(int(owner)):
            continue
        try:
            container.remove(force=True)
            count += 1
        except DockerException:
            pass  # removed meanwhile, or by its owner
    return count


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
