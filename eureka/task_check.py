"""The checks of a task that need its environment, run before a run directory exists.

`load_task` has checked the file itself; here the env is built from its id (on the host, with
no candidate code: only the task's own env), a few transitions are sampled, the success
expression is evaluated on them (with numpy, and for the jax backend also with jax.numpy
inside `jax.jit`, as the population trainer runs it) and must give one flag per transition,
every named state (`context.state`) must pass the custom-quantity allowlist and give one number
per sample state, every ``obs["key"]`` in the layout must name a field of the observation, and
every `context.source` entry must name source code that can be shown. Each problem is a
`TaskError` naming the file, the field and the reason.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from eureka.envs.base import Transitions
from eureka.task import TaskError, TaskSpec, load_task
from eureka.training.fitness import success_flags

SAMPLE_TRANSITIONS = 64
DETAIL_CHARS = 300


def checked_task(path: Path, allowed_paths: Sequence[Path] = (), model: str | None = None,
                 max_cost_usd: float | None = None, **llm_overrides: float | None) -> TaskSpec:
    """The task of `eureka run`, fully checked: the file, the env, the success expression, and
    that --max-cost can hold for the model. `llm_overrides` (timeout_s=..., deadline_s=...) are
    command-line values that replace the task file's `llm:` settings (and are stored with the run)."""
    from eureka.design.llm import resolve_model
    from eureka.design.llm.budget import pricing_problem

    task = load_task(path, allowed_paths)
    given = {key: value for key, value in llm_overrides.items() if value is not None}
    if given:
        task.llm = task.llm.model_copy(update=given)
    problem = pricing_problem(resolve_model(model, task.llm.model), task.llm.price, max_cost_usd)
    if problem:
        raise TaskError(f"{path}: llm.price: {problem}")
    check_task(task)
    return task


def check_task(task: TaskSpec) -> None:
    """Raise TaskError for the first problem found."""
    from eureka.envs.user import EnvCodeError, prepare_host

    where = str(task.path) if task.path else f"task {task.name}"
    if task.env.backend == "isaacgym":  # before anything imports the env's module (that imports Isaac Gym)
        from eureka.envs.isaacgym_backend import unavailable_reason

        raise TaskError(f"{where}: env.backend: isaacgym: {unavailable_reason()}")
    try:
        prepare_host(task)  # a user's env module beside the task file, and env.register modules
    except EnvCodeError as exc:
        raise TaskError(f"{where}: env.register: {exc}") from None
    transitions = _transitions(task, where)
    _check_success(task, transitions, where)
    _check_state(_check_fields(task, where), transitions, where)
    for index, entry in enumerate(task.context.source):
        try:
            _source_of(entry)
        except Exception as exc:  # an import of any kind can fail in any way: say which entry, and how
            raise TaskError(f"{where}: context.source[{index}]: {entry!r} has no source to show: "
                            f"{_short(exc)}") from None


def _transitions(task: TaskSpec, where: str) -> Transitions:
    try:
        if task.env.backend == "gymnasium":
            from eureka.envs import gymnasium_backend

            return gymnasium_backend.sample_transitions(task.env, SAMPLE_TRANSITIONS, seed=0)
        problem = jax_id_problem(task.env.id)
        if problem:
            raise TaskError(f"{where}: env.id: {task.env.id!r} (jax backend): {problem}")
        from eureka.envs import gymnax_backend

        info = gymnax_backend.space_info(task.env)  # builds the env; its rollout compiles later, in the run
    except TaskError:
        raise
    except Exception as exc:  # env constructors raise anything (gym.error.*, ValueError, ImportError, ...)
        raise TaskError(f"{where}: env.id: {task.env.id!r} ({task.env.backend} backend) could not be built: "
                        f"{_short(exc)}") from None
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(SAMPLE_TRANSITIONS, info.obs_dim)).astype(np.float32)
    ended = rng.random(SAMPLE_TRANSITIONS) < 0.1
    return Transitions(obs=obs, action=np.zeros(SAMPLE_TRANSITIONS, np.int32),
                       next_obs=obs + rng.normal(scale=0.1, size=obs.shape).astype(np.float32),
                       terminated=ended, truncated=np.zeros(SAMPLE_TRANSITIONS, bool),
                       env_reward=rng.normal(size=SAMPLE_TRANSITIONS).astype(np.float32))


def jax_id_problem(env_id: str) -> str | None:
    """What is wrong with a jax-backend env id, found without importing jax (seconds and
    hundreds of MB): the module of 'module:Class', the package of 'brax/...', 'craftax/...' and 'xminigrid/...',
    or gymnax's list of ids, read from its source."""
    if ":" in env_id:
        module = env_id.split(":", 1)[0]
        return None if _installed(module) else f"no module named {module!r}"
    family = env_id.partition("/")[0] if "/" in env_id else None
    if family is not None:
        if family not in ("brax", "craftax", "xminigrid"):
            return "not a gymnax id, 'module:Class', 'brax/<name>', 'craftax/<name>' or 'xminigrid/<name>'"
        extra = "jax" if family == "xminigrid" else "envs"
        return None if _installed(family) else f"needs {family}: pip install 'eureka[{extra}]'"
    known = _gymnax_ids()
    if known is None:
        return "the jax backend needs gymnax: pip install 'eureka[jax]'"
    if env_id not in known:
        return f"not a gymnax env id (and not 'module:Class', 'brax/<name>', 'craftax/<name>' or 'xminigrid/<name>'); gymnax has " \
               f"{', '.join(sorted(known)[:12])}, ..."
    return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is not there, or an odd name
        return False


def _gymnax_ids() -> list[str] | None:
    spec = importlib.util.find_spec("gymnax") if _installed("gymnax") else None
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(spec.submodule_search_locations[0], "registration.py")
    try:
        tree = ast.parse(source.read_text())
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "registered_envs" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def _check_success(task: TaskSpec, transitions: Transitions, where: str) -> None:
    if not task.fitness.success:
        return
    arrays = (transitions.obs, transitions.next_obs, transitions.terminated, transitions.truncated,
              transitions.env_reward)
    try:
        flags = np.asarray(success_flags(task.fitness, *arrays))
        if task.env.backend == "jax":
            import jax
            import jax.numpy as jnp

            traced = jax.jit(lambda *a: success_flags(task.fitness, *a, xp=jnp))(*arrays)
            flags = np.asarray(traced)
    except Exception as exc:  # UnsafeExpression, or any of numpy's and jax's errors on a bad expression
        raise TaskError(f"{where}: fitness.success: could not be evaluated on {SAMPLE_TRANSITIONS} sample "
                        f"transitions (obs of shape {transitions.obs.shape}): {_short(exc)}") from None
    count = len(transitions.terminated)
    if flags.shape not in ((count,), ()):
        raise TaskError(f"{where}: fitness.success: gives shape {flags.shape} on {count} transitions; it must "
                        f"give one flag per transition, shape ({count},)")


def _check_fields(task: TaskSpec, where: str) -> TaskSpec:
    """``obs["key"]`` in the layout and in named state must name a field of a Dict or Tuple
    observation; the task with those references resolved (eureka.envs.fields.designer_task)."""
    from eureka.envs.fields import KEY_REFERENCE, designer_task, field_problems, field_texts

    if not any(KEY_REFERENCE.search(text) for text in field_texts(task).values()):
        return task
    from eureka.envs import observation_fields

    fields = observation_fields(task.env)
    problems = field_problems(task, fields)
    if problems:
        raise TaskError(f"{where}: {problems[0]}")
    return designer_task(task, fields)


def _check_state(task: TaskSpec, transitions: Transitions, where: str) -> None:
    """Each named state passes the allowlist and gives one number per sample state (finite on
    real states: the jax backend's sample states here are made up)."""
    if not task.context.state:
        return
    from eureka.design.named_state import state_problems

    real = task.env.backend == "gymnasium"
    problems = state_problems(task.context.state, np.concatenate([transitions.obs, transitions.next_obs]),
                              jax=task.env.backend == "jax", finite=real)
    if problems:
        name, problem = next(iter(problems.items()))
        raise TaskError(f"{where}: context.state.{name}: {problem} (expression: "
                        f"{task.context.state[name].expression!r})")


def _source_of(entry: str) -> str:
    module_name, _, qualname = entry.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:DETAIL_CHARS]}"
