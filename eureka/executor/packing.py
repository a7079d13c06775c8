"""A job's scratch folder as bytes, for the trip to a worker node and back.

Only regular files travel (never links, devices or anything outside the folder), up to a
size cap; unpacking uses tarfile's "data" filter, which refuses absolute paths, `..` and
links, so a hostile job cannot make the host write outside the scratch folder.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


class TransferTooLarge(RuntimeError):
    """The job's files exceed the executor's transfer cap."""


@dataclass
class Packed:
    data: bytes
    files: list[str]
    left_out: list[str] = field(default_factory=list)  # over the cap, with why


def regular_files(root: Path) -> list[Path]:
    out = []
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(directory, d)))
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                out.append(path)
    return out


def pack(root: Path, max_bytes: int, skip: frozenset[str] = frozenset(), strict: bool = True) -> Packed:
    """Every regular file under `root` except the relative paths in `skip`. Over `max_bytes`:
    raise (strict: a job's inputs) or leave the rest out, saying so (a job's outputs)."""
    buffer, total, files, left_out = io.BytesIO(), 0, [], []
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in regular_files(root):
            relative = path.relative_to(root).as_posix()
            if relative in skip:
                continue
            size = path.stat().st_size
            if total + size > max_bytes:
                if strict:
                    raise TransferTooLarge(f"{relative}: the job's files exceed {max_bytes >> 20} MB")
                left_out.append(f"{relative} ({size} bytes: over the {max_bytes >> 20} MB transfer cap)")
                continue
            info = tarfile.TarInfo(relative)
            info.size, info.mode = size, 0o666
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
            total += size
            files.append(relative)
    return Packed(buffer.getvalue(), files, left_out)


def unpack(data: bytes, root: Path, max_bytes: int) -> list[str]:
    """Write the archive's regular files under `root` (folders made open to the sandbox user)."""
    written, total = [], 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        for member in members:
            total += member.size
            if total > max_bytes:
                raise TransferTooLarge(f"{member.name}: the archive exceeds {max_bytes >> 20} MB")
        for member in members:
            tar.extract(member, root, filter="data")
            written.append(member.name)
    for directory, dirs, files in os.walk(root):
        os.chmod(directory, 0o777)  # the sandboxed job may run as an unprivileged uid
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o666)
    return written
