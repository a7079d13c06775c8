"""The user's own environment code: where it is on the host, and what a sandbox must show of it.

A task names user code in three places: ``env.id: my_env:MyEnv``, ``context.source:
my_env:MyEnv.step`` and ``env.register: my_pkg`` (imported first so a registered id exists).
Each top-level module is looked up on the host the way Python would find it, plus the task
file's folder: beside the task, on ``PYTHONPATH``, or through an editable install. What is
found outside the Python installation the sandbox already shows (site-packages) is mounted,
read-only and at its host path, into every sandbox: exactly the module's file or package
folder, with the folder above it on the job's ``PYTHONPATH``. ``env.paths`` adds folders the
env reads (assets).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eureka.task import EnvSpec, TaskSpec


class EnvCodeError(RuntimeError):
    """The user's environment cannot be imported or built. The message says what to do."""


@dataclass(frozen=True)
class LocatedModule:
    """A top-level module of the user's env code as found on the host."""

    name: str
    origin: str | None  # the module's file or package folder; None where Python does not find it
    root: str | None  # the sys.path entry it sits in (None for an already visible module)
    visible: bool  # already inside what every sandbox shows (site-packages, eureka itself)

    def where(self) -> str:
        if self.origin is None:
            return "not found on the host"
        return f"found on the host at {self.origin}"


@dataclass(frozen=True)
class UserCode:
    """What a sandbox shows of the user's code: read-only paths and extra PYTHONPATH entries."""

    paths: tuple[str, ...] = ()
    import_roots: tuple[str, ...] = ()
    modules: tuple[LocatedModule, ...] = ()

    def module(self, name: str) -> LocatedModule | None:
        top = name.split(".", 1)[0]
        return next((m for m in self.modules if m.name == top), None)


NO_USER_CODE = UserCode()


def module_names(task: "TaskSpec") -> list[str]:
    """Top-level modules the task's env and context name, in the order they are needed."""
    names = [*task.env.register_modules]
    if ":" in task.env.id:
        names.append(task.env.id.split(":", 1)[0])
    names += [source.partition(":")[0] for source in task.context.source]
    tops: list[str] = []
    for name in names:
        top = name.split(".", 1)[0]
        if top and top not in tops:
            tops.append(top)
    return tops


def task_folder(task: "TaskSpec") -> Path:
    return task.path.parent if task.path is not None else Path.cwd()


def prepare_host(task: "TaskSpec") -> None:
    """Make the task's env importable in this process: its folder goes at the end of sys.path
    (a module beside the task file), then `env.register` modules are imported."""
    folder = str(task_folder(task))
    if folder not in sys.path:
        sys.path.append(folder)
    import_register(task.env)


def import_register(spec: "EnvSpec") -> None:
    for name in spec.register_modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise EnvCodeError(f"env.register: importing {name!r} failed ({exc}); put the package beside "
                               "the task file, on PYTHONPATH, or pip install it") from None


def locate(name: str, extra: list[str] | None = None) -> LocatedModule:
    """Find the top-level module `name` as this process would import it (sys.path first, then
    `extra` folders), without importing it."""
    from eureka.sandbox.mounts import always_shown

    try:
        spec = importlib.util.find_spec(name)  # sys.path and the finders of editable installs
    except (ImportError, ValueError):
        spec = None
    if spec is None and extra:
        spec = importlib.machinery.PathFinder.find_spec(name, extra)
    if spec is None or (spec.origin in (None, "built-in", "frozen") and not spec.submodule_search_locations):
        return LocatedModule(name, None, None, visible=spec is not None)
    if spec.submodule_search_locations:
        origin = str(Path(list(spec.submodule_search_locations)[0]).resolve())
    else:
        origin = str(Path(spec.origin).resolve())
    root = str(Path(origin).parent)
    visible = any(_within(origin, shown) for shown in always_shown())
    return LocatedModule(name, origin, None if visible else root, visible)


def user_code(task: "TaskSpec") -> UserCode:
    """The user code every sandbox of this task must show. Modules not found on the host are
    kept (with no path) so an import error inside the sandbox can say so."""
    folder = str(task_folder(task))
    modules = tuple(locate(name, [folder]) for name in module_names(task))
    paths: list[str] = []
    roots: list[str] = []
    for module in modules:
        if module.visible or module.origin is None:
            continue
        if module.origin not in paths:
            paths.append(module.origin)
        if module.root not in roots:
            roots.append(module.root)
    for rel in task.env.paths:
        path = task.resolve(rel).resolve()
        if str(path) not in paths:
            paths.append(str(path))
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and str(path.parent) not in roots:  # a helper module: importable like the env's
            roots.append(str(path.parent))
    return UserCode(tuple(paths), tuple(roots), modules)


def import_failure(code: UserCode, missing: str, detail: str, folder: Path | None = None) -> str:
    """The message for a module of the env that cannot be imported inside a sandbox."""
    module = code.module(missing) or locate(missing.split(".", 1)[0], [str(folder)] if folder else None)
    if module.origin is not None and not module.visible and module.origin not in code.paths:
        name = Path(module.origin).name
        return (f"the environment imports the module {missing!r} ({module.where()}), which is not one the task "
                f"names, so the sandbox does not show it ({detail}). Fix: add it to env.paths (e.g. env.paths: "
                f"[{name}] beside the task file), or pip install it into the Python that runs eureka")
    if module is None or module.origin is None:
        return (f"the environment needs the module {missing!r}, which is not importable inside the sandbox "
                f"and was not found on the host ({detail}). Fix: put {missing}.py (or the package folder "
                f"{missing}/) beside the task file, add its folder to PYTHONPATH, or pip install it into the "
                "Python that runs eureka; folders of assets go in env.paths")
    if module.visible:
        return (f"the environment module {missing!r} ({module.where()}) failed to import inside the sandbox: "
                f"{detail}. Fix: install what it imports into the Python that runs eureka, or add the "
                "folders it reads to env.paths")
    return (f"the environment module {missing!r} ({module.where()}, shown read-only in the sandbox) failed "
            f"to import inside the sandbox: {detail}. Fix: a module it imports from outside that folder must "
            "be pip installed or listed in env.paths (with its folder on PYTHONPATH); files it reads go in "
            "env.paths")


def _within(path: str, parent: str) -> bool:
    parent = os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")
