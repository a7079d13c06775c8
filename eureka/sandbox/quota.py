"""A disk quota for a job's scratch dir: a size-capped tmpfs mounted over it for the run.

The file-size rlimit caps one file; without a quota a job could still fill the host's disk
with many. As root, the scratch dir gets a tmpfs of `SandboxLimits.scratch_mb` (and at most
`scratch_files` inodes) for the job's run, under the same path, so both sandboxes and the
host's readers (result, progress) see it unchanged. The host's inputs are copied in; after
the run only regular files and directories come back (no links, no FIFOs, none over
`COPY_BACK_FILE_BYTES`), then the tmpfs is gone. The tmpfs pages count against the job's
memory limit as they are written. Without root there is no quota (said by the result).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from eureka.sandbox.base import SandboxLimits

COPY_BACK_FILE_BYTES = 64 << 20  # no artifact the host keeps is larger; result.json is read before
_MS_NOSUID, _MS_NODEV = 0x2, 0x4
_MNT_DETACH = 2


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


def _mount_tmpfs(target: Path, size_mb: int, files: int, mode: int) -> None:
    options = f"size={size_mb}m,nr_inodes={files},mode={mode:o}".encode()
    if _libc().mount(b"tmpfs", str(target).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount a tmpfs on {target}: {os.strerror(err)}")


def _unmount(target: Path) -> None:
    _libc().umount2(str(target).encode(), _MNT_DETACH)


@contextmanager
def scratch_quota(scratch: Path, limits: SandboxLimits) -> Iterator[str]:
    """Run the body with `scratch` on a size-capped tmpfs; yields what quota holds."""
    if os.geteuid() != 0:
        yield "none (not root: only the file-size limit holds)"
        return
    under = os.open(scratch, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _mount_tmpfs(scratch, limits.scratch_mb, limits.scratch_files, stat.S_IMODE(os.fstat(under).st_mode))
    except OSError as exc:
        os.close(under)
        yield f"none ({exc})"
        return
    try:
        try:  # the host's inputs, from the directory beneath the tmpfs
            shutil.copytree(f"/proc/self/fd/{under}", scratch, symlinks=True, dirs_exist_ok=True)
        except BaseException:
            _unmount(scratch)
            raise
        yield f"tmpfs of {limits.scratch_mb} MB"
    finally:
        _bring_back(scratch, under)


def _bring_back(scratch: Path, under: int) -> None:
    """Copy the job's plain files off the tmpfs (to a sibling dir), unmount it, put them in place."""
    out = Path(tempfile.mkdtemp(prefix=".eureka-out-", dir=scratch.parent))
    try:
        try:
            _copy_plain(scratch, out)
        finally:
            _unmount(scratch)
            os.close(under)
        for entry in out.iterdir():
            existing = scratch / entry.name
            if existing.is_dir() and not existing.is_symlink():
                shutil.rmtree(existing)
            elif existing.exists() or existing.is_symlink():
                existing.unlink()
            os.rename(entry, existing)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _copy_plain(source: Path, destination: Path) -> None:
    from eureka.sandbox.untrusted import UntrustedOutput, copy_job_file

    for dirpath, dirnames, filenames in os.walk(source):  # never follows links
        relative = os.path.relpath(dirpath, source)
        here = destination if relative == "." else destination / relative
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                (here / name).mkdir(mode=0o755)
        dirnames[:] = [n for n in dirnames if not os.path.islink(os.path.join(dirpath, n))]
        for name in filenames:
            path = name if relative == "." else f"{relative}/{name}"
            try:
                copy_job_file(source, path, here / name, COPY_BACK_FILE_BYTES)
            except (UntrustedOutput, OSError):
                continue  # a link, a FIFO, too large: left behind with the tmpfs
