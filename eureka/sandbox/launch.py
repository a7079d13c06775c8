"""The bwrap sandbox's launcher: the child's setup before bwrap, in a fresh interpreter.

Run as ``python3 -I -S launch.py SETUP_JSON -- BWRAP_ARGV...``: it joins the job's cgroup,
sets rlimits, stages (as root) the directories the sandbox user cannot reach, drops to the
sandbox uid and execs bwrap. Done as a `preexec_fn` between fork and exec of the search
process instead, this Python code would run in a child forked from a multithreaded parent
(JAX, llama.cpp), where a lock held by another thread at fork time deadlocks it; a fresh
single-threaded interpreter cannot. Standard library only: it must not import eureka or
anything that starts threads.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

STAGE = "/tmp"  # covered by a tmpfs in the child's private mount namespace only
SETUP_FAILED = 121  # exit status when the setup failed; the reason is on stderr after PREFIX
PREFIX = "eureka-launch:"

_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.unshare.argtypes = [ctypes.c_int]
    return libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def stage_path(index: int) -> str:
    return f"{STAGE}/{index}"


def stage(sources: list[str], files: dict[str, str]) -> None:
    """As root: a private mount namespace with each source bound at STAGE/<index> on a small
    tmpfs, and `files` (name -> text) written there. Never touches the host's mounts."""
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
    # Opened in the new namespace (a bind from another namespace's mount is EINVAL) and
    # before the tmpfs covers STAGE, where the sources (the scratch dir...) may live.
    fds = [os.open(src, os.O_PATH | os.O_CLOEXEC) for src in sources]
    _check(libc.mount(b"tmpfs", STAGE.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=0755,size=1m"),
           "mount staging tmpfs")
    for index, fd in enumerate(fds):
        target = stage_path(index)
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        _check(libc.mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None, _MS_BIND | _MS_REC, None),
               f"bind {sources[index]}")
        os.close(fd)
    for name, text in files.items():
        fd = os.open(f"{STAGE}/{name}", os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, text.encode())
        os.close(fd)


def give_seccomp_filter(bpf_hex: str, fd: int) -> None:
    """The compiled filter (built by the eureka process) on descriptor `fd`, inherited by bwrap."""
    memfd = os.memfd_create("eureka-seccomp", 0)
    os.write(memfd, bytes.fromhex(bpf_hex))
    os.lseek(memfd, 0, os.SEEK_SET)
    if memfd != fd:
        os.dup2(memfd, fd)
        os.close(memfd)


def setup(config: dict) -> None:
    """Keys: die_with_parent (be killed when the eureka process that started us dies),
    procs_files (cgroup.procs files to join), rlimits ([resource, value] pairs),
    seccomp (None or {"bpf_hex": ..., "fd": N}), staging (None or {"sources": [...],
    "files": {...}}), ids (None or [uid, gid])."""
    pid = str(os.getpid()).encode()
    for path in config.get("procs_files", []):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)
    for which, value in config.get("rlimits", []):
        resource.setrlimit(which, (value, value))
    seccomp = config.get("seccomp")
    if seccomp is not None:
        give_seccomp_filter(seccomp["bpf_hex"], seccomp["fd"])
    staging = config.get("staging")
    if staging is not None:
        stage(staging["sources"], staging["files"])
    ids = config.get("ids")
    if ids is not None:
        uid, gid = ids
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    if config.get("die_with_parent"):  # last: a change of credentials clears it
        pr_set_pdeathsig = 1
        _libc().prctl(pr_set_pdeathsig, signal.SIGKILL)


def command(config: dict, argv: list[str]) -> list[str]:
    """The command line that runs `argv` after the setup `config`."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), json.dumps(config), "--", *argv]


def main(args: list[str]) -> None:
    if len(args) < 4 or args[2] != "--":
        sys.stderr.write(f"{PREFIX} usage: launch.py SETUP_JSON -- COMMAND...\n")
        os._exit(SETUP_FAILED)
    try:
        setup(json.loads(args[1]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"{PREFIX} {exc}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)
    os.execv(args[3], args[3:])


if __name__ == "__main__":
    main(sys.argv)
