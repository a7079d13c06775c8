"""The syscall filter of both sandboxes: Docker's default denials, and ptrace.

One list (`DENIED`), two forms: compiled BPF for bubblewrap (``--seccomp FD``, built here
with libseccomp through `pyseccomp`, in the eureka process, so that the stdlib-only
launcher only hands the bytes to bwrap) and a Docker seccomp profile (JSON). Everything not
listed is allowed; what is listed fails with EPERM, as under Docker's default profile:
tracing other processes, mounting, loading kernel code, keyrings, BPF, perf events, new
namespaces, io_uring, reading other processes' memory, changing the clock. Docker's default
profile lets ptrace through on kernels from 4.8; this one does not.
"""

from __future__ import annotations

import errno
import json
import platform
import tempfile
from functools import lru_cache

DENIED = (
    # tracing and other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # mounts and the root
    "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_tree", "move_mount", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    # namespaces (clone with namespace flags: see NAMESPACE_FLAGS)
    "unshare", "setns",
    # the kernel: modules, kexec, BPF, perf, keyrings, reboot, swap, accounting, quotas, logs
    "init_module", "finit_module", "delete_module", "create_module", "kexec_load", "kexec_file_load", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "quotactl_fd", "syslog", "lookup_dcookie", "uselib", "ustat", "sysfs", "_sysctl",
    "nfsservctl", "get_kernel_syms", "query_module", "vhangup",
    # hardware and memory policy
    "iopl", "ioperm", "vm86", "vm86old", "mbind", "set_mempolicy", "move_pages", "userfaultfd",
    # the clock
    "settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex",
    # io_uring: a second syscall interface the filter would not see
    "io_uring_setup", "io_uring_enter", "io_uring_register",
)
# clone() with any of these creates a namespace (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
# NEWUSER, NEWPID, NEWNET, NEWTIME).
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                   0x00000080)
# clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes the C
# library fall back to clone (as under Docker's profile).
NOT_IMPLEMENTED = ("clone3",)
BWRAP_FD = 10  # the descriptor number the launcher gives the filter for bwrap's --seccomp


class SeccompUnavailable(RuntimeError):
    """libseccomp or its Python binding is missing."""


def _arches() -> list[str]:
    """Extra architectures of this machine's kernel: their syscall numbers differ, so a filter
    for the native one alone would let a 32-bit call through."""
    return ["X86", "X32"] if platform.machine() == "x86_64" else []


@lru_cache(maxsize=1)
def bpf_program() -> bytes:
    """`DENIED` compiled to a BPF program (what bwrap's --seccomp reads)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: the binding found no libseccomp.so
        raise SeccompUnavailable(f"libseccomp's Python binding is missing ({exc}): pip install pyseccomp "
                                 "(and apt-get install libseccomp2)") from exc
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    for arch in _arches():
        flt.add_arch(getattr(seccomp.Arch, arch))
    for name in DENIED:
        _add(flt, seccomp.ERRNO(errno.EPERM), name)
    for flag in NAMESPACE_FLAGS:
        _add(flt, seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    for name in NOT_IMPLEMENTED:
        _add(flt, seccomp.ERRNO(errno.ENOSYS), name)
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()


def _add(flt, action: int, name: str, *args) -> None:
    try:
        flt.add_rule(action, name, *args)
    except (ValueError, RuntimeError, OSError):
        pass  # a syscall this kernel/libseccomp does not know: nothing to deny


def docker_profile() -> str:
    """`DENIED` as a Docker seccomp profile (the text of `--security-opt seccomp=...`)."""
    arches = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] if platform.machine() == "x86_64" else []
    rules: list[dict] = [{"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]
    rules += [{"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM,
               "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]}
              for flag in NAMESPACE_FLAGS]
    rules.append({"names": list(NOT_IMPLEMENTED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches, "syscalls": rules})


def launcher_config() -> dict:
    """What `eureka.sandbox.launch` needs to give bwrap the filter on BWRAP_FD."""
    return {"bpf_hex": bpf_program().hex(), "fd": BWRAP_FD}


def available() -> tuple[bool, str]:
    try:
        bpf_program()
    except SeccompUnavailable as exc:
        return False, str(exc)
    return True, f"seccomp filter: {len(DENIED)} syscalls denied"

