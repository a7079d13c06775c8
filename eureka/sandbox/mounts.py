"""What a sandbox shows the job from the host, shared by the bwrap and Docker backends.

Only what Python needs is shown, read-only, at the same path as on the host (so the
interpreter finds its prefix and ``PYTHONPATH`` stays valid): the system directories,
the Python installation, site-packages, and the ``eureka`` package itself (not the whole
repository), then the user's env code outside those (``eureka.envs.user``: the env's module
file or package, ``env.paths``). The scratch directory is the one writable place.
"""

from __future__ import annotations

import os
import site
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from eureka.sandbox.process import PACKAGE_ROOT

if TYPE_CHECKING:
    from eureka.envs.user import UserCode

SANDBOX_UID = 65534  # nobody
SANDBOX_GID = 65534  # nogroup
SCRATCH_MOUNT = "/scratch"

# Top-level system directories Python and its extension modules load from. On merged-/usr
# systems the /bin, /lib... ones are symlinks into /usr and are recreated as symlinks.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
# Pieces of /etc the dynamic loader needs. Nothing else of /etc is shown.
SYSTEM_FILES = ("/etc/ld.so.cache",)

PASSWD = f"nobody:x:{SANDBOX_UID}:{SANDBOX_GID}:nobody:/tmp:/usr/sbin/nologin\n"
GROUP = f"nogroup:x:{SANDBOX_GID}:\n"


def system_layout() -> tuple[list[str], dict[str, str]]:
    """(real system directories to bind, {symlink path: target}) as they are on this host."""
    dirs: list[str] = []
    links: dict[str, str] = {}
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            dirs.append(path)
    return dirs, links


def python_dirs() -> list[str]:
    """Host directories holding the running Python and its packages, outside the system dirs.

    The interpreter's prefixes (a venv and its base), then any site-packages directory
    outside them. The eureka package is added by `package_dir`.
    """
    candidates = [sys.base_prefix, sys.prefix, *site.getsitepackages()]
    system_dirs, _ = system_layout()
    chosen: list[str] = []
    for raw in candidates:
        path = os.path.realpath(raw)
        if not os.path.isdir(path) or path == "/":
            continue
        if any(_is_within(path, d) for d in system_dirs + chosen):
            continue
        chosen = [c for c in chosen if not _is_within(c, path)] + [path]
    return chosen


def package_dir() -> str:
    """The eureka package directory; bound at the same path so PYTHONPATH=PACKAGE_ROOT works."""
    return str(PACKAGE_ROOT / "eureka")


def always_shown() -> list[str]:
    """What every sandbox shows whatever the task: the Python installation and eureka."""
    return [*python_dirs(), package_dir()]


def user_paths(user_code: "UserCode | None" = None) -> list[str]:
    """The user's env code a sandbox binds read-only at its host path (a module file, a package
    folder, an env.paths entry), less what `always_shown` holds already."""
    shown = always_shown()
    chosen: list[str] = []
    for path in user_code.paths if user_code is not None else ():
        if os.path.exists(path) and not any(_is_within(path, d) for d in shown + chosen):
            chosen.append(path)
    return chosen


def shown_paths(user_code: "UserCode | None" = None) -> list[str]:
    """Every host path a sandbox binds read-only at the same path."""
    return [*always_shown(), *user_paths(user_code)]


def import_path(user_code: "UserCode | None" = None) -> str:
    """The job's PYTHONPATH: eureka's folder, then the folders the user's modules sit in."""
    roots = [str(PACKAGE_ROOT), *(user_code.import_roots if user_code is not None else ())]
    return os.pathsep.join(dict.fromkeys(roots))


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def sandbox_ids() -> tuple[int, int]:
    """The uid:gid a job runs as: nobody when we are root, else the caller's own ids."""
    if os.geteuid() == 0:
        return SANDBOX_UID, SANDBOX_GID
    return os.getuid(), os.getgid()


@contextmanager
def lend_scratch(scratch: Path, uid: int, gid: int) -> Iterator[None]:
    """Hand the scratch tree to uid:gid for the job's run, and back to its owner after.

    Symlinks are never followed (lchown, os.walk without followlinks): whatever the job
    leaves in its scratch dir cannot make us change ownership of a file elsewhere. Call
    the give-back only once every process of the job is gone.
    """
    st = os.lstat(scratch)
    if (st.st_uid, st.st_gid) == (uid, gid) or os.geteuid() != 0:
        yield
        return
    _chown_tree(scratch, uid, gid)
    try:
        yield
    finally:
        _chown_tree(scratch, st.st_uid, st.st_gid)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                os.lchown(os.path.join(dirpath, name), uid, gid)
            except FileNotFoundError:
                pass
