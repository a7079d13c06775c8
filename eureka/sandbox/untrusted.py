"""Reading what a sandboxed job wrote, trusting none of it.

A job controls every byte of its scratch directory: it can replace a file by a symlink to a
host file (which the host, as root, would otherwise open), by a FIFO (which would block an
open), make it huge, or nest its JSON deep enough to overflow a recursive parser. Every
host read of a job output goes through this module:

- the path is opened one component at a time from the job's own folder with ``O_NOFOLLOW``
  (no ``..``, no absolute part, no symlinked parent directory), non-blocking, and must be a
  regular file;
- its size is checked on the open descriptor before anything is read, and never more than
  the cap is read;
- JSON is refused deeper than `MAX_JSON_DEPTH` before it is parsed (no RecursionError);
- every string that reaches the host is scrubbed of secret-shaped text (`scrub`).

Any refusal raises `UntrustedOutput`: the caller turns it into that candidate's failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_RESULT_BYTES = 16 << 20  # result.json of a population job with many checkpoints fits easily
MAX_PROGRESS_BYTES = 4096
MAX_JSON_DEPTH = 64
REDACTED = "[redacted]"

# Shapes of API keys and credentials of the common providers, and private keys.
SECRET_SHAPES = re.compile(
    r"sk-(?:ant-|proj-|or-)?[A-Za-z0-9_\-]{16,}"  # OpenAI, Anthropic, OpenRouter
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|gsk_[A-Za-z0-9]{30,}"  # Groq
    r"|eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+"  # JWT
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION", re.IGNORECASE)
MIN_SECRET_VALUE = 8  # shorter values ("1", "true") would redact ordinary words
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class UntrustedOutput(Exception):
    """A job output the host refuses to read (a link, not a regular file, too large, too deep,
    not JSON, outside the job's folder). The candidate's failure, never the run's."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # the file is simply not there


def _parts(relative: str | os.PathLike) -> list[str]:
    parts = os.fspath(relative).split("/")
    if any(p in ("..", ".", "") or "\0" in p for p in parts):
        raise UntrustedOutput(f"{relative}: not a plain path inside the job's folder")
    return parts


def open_job_file(root: Path, relative: str | os.PathLike, max_bytes: int) -> int:
    """A read-only descriptor of the regular file `relative` under `root`, refusing links at
    every component, special files and anything over `max_bytes`. The caller closes it."""
    parts = _parts(relative)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        dir_fd = os.open(root, flags | os.O_DIRECTORY)
    except OSError as exc:
        raise UntrustedOutput(f"{relative}: the job's folder cannot be opened ({exc.strerror})") from exc
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, flags | os.O_DIRECTORY, dir_fd=dir_fd)
            except OSError as exc:
                raise UntrustedOutput(f"{relative}: {part!r} is not a plain directory ({exc.strerror})") from exc
            os.close(dir_fd)
            dir_fd = next_fd
        try:
            fd = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            raise UntrustedOutput(f"{relative}: cannot be opened as a plain file ({exc.strerror})",
                                  missing=isinstance(exc, FileNotFoundError)) from exc
    finally:
        os.close(dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UntrustedOutput(f"{relative}: not a regular file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise UntrustedOutput(f"{relative}: {info.st_size} bytes, over the limit of {max_bytes}")
    return fd


def read_job_bytes(root: Path, relative: str | os.PathLike, max_bytes: int) -> bytes:
    fd = open_job_file(root, relative, max_bytes)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)  # the file may still grow
    if len(data) > max_bytes:
        raise UntrustedOutput(f"{relative}: over the limit of {max_bytes} bytes")
    return data


def read_job_tail(root: Path, relative: str | os.PathLike, limit: int) -> bytes:
    """The last `limit` bytes of a job's (log) file, whatever its size; b"" if it is gone."""
    try:
        fd = open_job_file(root, relative, max_bytes=1 << 62)
    except UntrustedOutput:
        return b""
    with os.fdopen(fd, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - limit))
        return fh.read(limit)


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, without parsing it."""
    import numpy as np

    skeleton = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    steps = np.zeros(skeleton.shape, dtype=np.int32)
    steps[(skeleton == ord("[")) | (skeleton == ord("{"))] = 1
    steps[(skeleton == ord("]")) | (skeleton == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def parse_json(data: bytes, what: str = "output", max_depth: int = MAX_JSON_DEPTH) -> Any:
    depth = json_depth(data)
    if depth > max_depth:
        raise UntrustedOutput(f"{what}: JSON nested {depth} levels deep, over the limit of {max_depth}")
    try:
        return scrub(json.loads(data))
    except (ValueError, RecursionError) as exc:
        raise UntrustedOutput(f"{what}: not valid JSON ({type(exc).__name__})") from exc


def read_job_json(root: Path, relative: str | os.PathLike, max_bytes: int = MAX_RESULT_BYTES,
                  max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A job's JSON file, checked as the module docstring says, strings scrubbed."""
    return parse_json(read_job_bytes(root, relative, max_bytes), str(relative), max_depth)


def load_job_npz(root: Path, relative: str | os.PathLike, max_bytes: int) -> dict[str, Any]:
    """The arrays of a job's .npz, never unpickled."""
    import numpy as np

    data = read_job_bytes(root, relative, max_bytes)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise UntrustedOutput(f"{relative}: not a readable .npz of plain arrays ({exc})") from exc


def copy_job_file(root: Path, relative: str | os.PathLike, destination: Path, max_bytes: int) -> int:
    """Copy a job's regular file to a host path (replacing whatever is there, never following
    a link at the destination); the bytes copied."""
    fd = open_job_file(root, relative, max_bytes)
    destination.unlink(missing_ok=True)
    out = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    copied = 0
    with os.fdopen(fd, "rb") as src, os.fdopen(out, "wb") as dst:
        while chunk := src.read(min(1 << 20, max_bytes + 1 - copied)):
            copied += len(chunk)
            if copied > max_bytes:
                dst.close()
                destination.unlink(missing_ok=True)
                raise UntrustedOutput(f"{relative}: grew over the limit of {max_bytes} bytes")
            dst.write(chunk)
    return copied


def list_job_dir(root: Path, relative: str | os.PathLike, limit: int) -> list[str]:
    """Names in a job's directory (opened without following links); at most `limit`."""
    parts = _parts(relative)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_DIRECTORY
    fd = os.open(root, flags)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                raise UntrustedOutput(f"{relative}: not a plain directory ({exc.strerror})") from exc
            os.close(fd)
            fd = next_fd
        names: list[str] = []
        with os.scandir(fd) as entries:
            for entry in entries:
                if len(names) >= limit:
                    raise UntrustedOutput(f"{relative}: more than {limit} entries")
                names.append(entry.name)
        return sorted(names)
    finally:
        os.close(fd)


# -- secrets -----------------------------------------------------------------------------


def host_secret_values(environ: os._Environ | dict[str, str] | None = None) -> list[str]:
    """Values of this process's environment variables whose names look secret."""
    env = os.environ if environ is None else environ
    values = {value for name, value in env.items() if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_VALUE}
    return sorted(values, key=len, reverse=True)


def scrub_text(text: str) -> str:
    """`text` with every secret-shaped run and every host secret value replaced."""
    for value in host_secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return SECRET_SHAPES.sub(REDACTED, text)


def scrub(data: Any) -> Any:
    """`data` (parsed JSON) with every string, keys included, scrubbed; iterative, any depth."""
    if isinstance(data, str):
        return scrub_text(data)
    if not isinstance(data, (dict, list)):
        return data
    root: list[Any] = [data]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, data)]
    while stack:
        parent, key, node = stack.pop()
        if isinstance(node, dict):
            fresh: dict[Any, Any] = {}
            parent[key] = fresh
            for k, v in node.items():
                fresh[scrub_text(k) if isinstance(k, str) else k] = v
            stack.extend((fresh, k, v) for k, v in fresh.items() if isinstance(v, (dict, list, str)))
        elif isinstance(node, list):
            fresh_list = list(node)
            parent[key] = fresh_list
            stack.extend((fresh_list, i, v) for i, v in enumerate(fresh_list) if isinstance(v, (dict, list, str)))
        else:
            parent[key] = scrub_text(node)
    return root[0]

