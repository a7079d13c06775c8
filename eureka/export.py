"""Export a run's reward as a self-contained artifact directory, and verify an export.

An export directory holds:

- ``reward.py``: the candidate's code unchanged, under a docstring header naming the task,
  model, fitness, export date and the sha256 of the code below the header;
- ``wrapper.py``: ``EurekaReward``, a Gymnasium ``Wrapper`` whose ``step`` applies the reward
  to one transition, and ``make_env()``, the task's env wrapped (needs only gymnasium and
  numpy, plus jax and gymnax for a jax task; not eureka);
- ``reward_jax.py`` (jax tasks only): the reward as pure functions of jnp arrays, batched
  and per transition, for ``jax.jit`` / ``jax.vmap`` (both modules are rendered from
  ``eureka/views/templates/export/*.py.j2``);
- for isaacgym tasks, instead of ``wrapper.py`` (a VecTask is no Gymnasium env):
  ``isaac_reward.py``, eureka's Isaac Gym adapter (eureka/envs/isaacgym_reward.py, copied as it
  is), and ``isaac_task.py``, the task's VecTask class with the reward (``EurekaTask``) and a
  launcher of IsaacGymEnvs' train.py. Only isaacgym tasks get them: a reward is written for its
  task's observation layout, which no other backend's task shares with an Isaac Gym task;
- ``manifest.json``: the task spec, the fitness per seed, the lineage (the candidate, its
  parent, ... with their reflections), library versions, and the sha256 of every other file.

`verify_export` checks the hashes, re-runs the critic's sandboxed probe on the exported
``reward.py``, re-trains one seed in the sandbox and compares the fitness with the recorded
one (see `fitness_reproduced` for the tolerance).
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from eureka.rundir.reader import CandidateInfo, RunInfo, read_run
from eureka.rundir.store import RunStoreError, atomic_write_json, atomic_write_text
from eureka.views.templating import source_environment

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
REWARD_FILE = "reward.py"
WRAPPER_FILE = "wrapper.py"
JAX_FILE = "reward_jax.py"
ISAAC_ADAPTER_FILE = "isaac_reward.py"
ISAAC_TASK_FILE = "isaac_task.py"
ISAAC_ADAPTER_SOURCE = Path(__file__).resolve().parent / "envs" / "isaacgym_reward.py"
RELATIVE_TOLERANCE = 0.10


class ExportError(ValueError):
    """The export cannot be made: no such run, no best candidate, unknown candidate id, ...
    The message is for the user."""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    run_id: str
    candidate_id: str
    fitness: float | None
    files: dict[str, str]  # name -> sha256


# -- export ------------------------------------------------------------------------------
def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_export_dir(run_dir: Path, candidate_id: str) -> Path:
    return Path(run_dir) / "export" / candidate_id


def choose_candidate(run: RunInfo, candidate_id: str | None) -> CandidateInfo:
    """The candidate to export: the named one, else the run's best. Raises ExportError."""
    if candidate_id is None:
        best = run.best_candidate()
        if best is None:
            raise ExportError(f"{run.directory}: the run has no best candidate (no candidate was trained "
                              "successfully); nothing to export")
        return best
    candidate = run.candidate(candidate_id)
    if candidate is None:
        known = ", ".join(c.id for c in run.candidates) or "none"
        raise ExportError(f"{run.directory}: no candidate {candidate_id!r} (candidates: {known})")
    if candidate.status != "trained" or candidate.fitness is None:
        why = "was rejected by the critic" if candidate.status == "rejected" else "has no fitness (training failed)"
        raise ExportError(f"candidate {candidate_id!r} {why}; only trained candidates can be exported")
    return candidate


def checked_reward(candidate_dir: Path) -> str:
    """The candidate's reward.py, which must be the code the run accepted (its sha256 in
    candidate.json; eureka.rundir.integrity). Raises ExportError."""
    from eureka.rundir.integrity import RewardMismatch, read_reward

    code_path = candidate_dir / REWARD_FILE
    if not code_path.is_file():
        raise ExportError(f"{code_path}: file not found")
    try:
        expected = json.loads((candidate_dir / "candidate.json").read_text()).get("reward_sha256")
    except (OSError, ValueError):
        expected = None
    try:
        return read_reward(candidate_dir, expected if isinstance(expected, str) else None)
    except RewardMismatch as exc:
        raise ExportError(str(exc)) from None


def export_candidate(run_dir: Path, out_dir: Path | None = None, candidate_id: str | None = None,
                     now: datetime | None = None) -> ExportResult:
    """Write the export directory of a run's best (or the named) candidate.

    The files are written to a temporary sibling directory and moved into place at the end,
    so an interrupted export leaves no half-written directory. An existing export at
    `out_dir` is replaced; any other non-empty directory there is refused.
    """
    try:
        run = read_run(Path(run_dir))
    except RunStoreError as exc:
        raise ExportError(str(exc)) from None
    candidate = choose_candidate(run, candidate_id)
    code = checked_reward(candidate.path)
    out_dir = Path(out_dir) if out_dir else default_export_dir(run.directory, candidate.id)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file())):
        raise ExportError(f"{out_dir}: exists and is not a eureka export; choose another output directory")
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    backend = run.task.get("env", {}).get("backend", "gymnasium")

    files = {REWARD_FILE: reward_file_text(run, candidate, code, stamp)}
    if backend == "isaacgym":
        files[ISAAC_ADAPTER_FILE] = ISAAC_ADAPTER_SOURCE.read_text(encoding="utf-8")
        files[ISAAC_TASK_FILE] = isaac_task_file_text(run, candidate)
    else:
        files[WRAPPER_FILE] = wrapper_file_text(run, candidate)
    if backend == "jax":
        files[JAX_FILE] = jax_file_text(run)
    manifest = build_manifest(run, candidate, code, stamp, {n: sha256_text(t) for n, t in files.items()})

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, text in files.items():
            atomic_write_text(staging / name, text)
        atomic_write_json(staging / MANIFEST, manifest)
        staging.chmod(0o755)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(out_dir, run.run_id, candidate.id, candidate.fitness, manifest["files"])


def _docstring_safe(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _fitness_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _per_seed(run: RunInfo, candidate: CandidateInfo) -> list[dict[str, Any]]:
    """[{seed, fitness, status, error}] from metrics.json, else from candidate.json's list."""
    metrics = run.metrics(candidate) or {}
    members = ((metrics.get("outcome") or {}).get("members")) or []
    if members:
        return [{"seed": m.get("seed"), "fitness": m.get("fitness"), "status": m.get("status"),
                 "error": m.get("error"), "env_steps": m.get("env_steps")} for m in members]
    seeds = (run.task.get("training") or {}).get("seeds") or []
    return [{"seed": seeds[i] if i < len(seeds) else None, "fitness": f, "status": "ok" if f is not None else "failed",
             "error": None, "env_steps": None} for i, f in enumerate(candidate.fitness_per_seed)]


def reward_file_text(run: RunInfo, candidate: CandidateInfo, code: str, stamp: str) -> str:
    env = run.task.get("env", {})
    fitness = run.task.get("fitness", {})
    seeds = ", ".join(f"seed {s['seed']}: {_fitness_text(s['fitness'])}" for s in _per_seed(run, candidate))
    lines = [
        f"Reward for the eureka task '{_docstring_safe(run.task_name)}', exported from a eureka run.",
        "",
        f"Task:        {_docstring_safe(run.task_name)} ({_docstring_safe(env.get('id'))}, "
        f"{_docstring_safe(env.get('backend', 'gymnasium'))} backend)",
        f"Model:       {_docstring_safe(run.model)}",
        f"Run:         {_docstring_safe(run.run_id)}, candidate {_docstring_safe(candidate.id)} "
        f"(iteration {candidate.iteration}, parent {_docstring_safe(candidate.parent_id or 'none')})",
        f"Fitness:     {_fitness_text(candidate.fitness)} ({_docstring_safe(fitness.get('metric'))}, "
        f"{_docstring_safe(fitness.get('direction', 'maximize'))}; {_docstring_safe(seeds)})",
        f"Exported:    {stamp}",
        f"Code sha256: {sha256_text(code)} (the code below this docstring)",
        "",
        "compute_reward(obs, action, next_obs, terminated) -> (total, components) is batched over",
        ("N environments; isaac_task.py puts it into the task's VecTask. manifest.json has the rest."
         if env.get("backend") == "isaacgym" else
         "N environments; wrapper.py applies it to one Gymnasium env. manifest.json has the rest."),
    ]
    return '"""' + "\n".join(lines) + '\n"""\n\n' + code


def split_reward_file(text: str) -> tuple[str, str]:
    """(header, code) of an exported reward.py; the header is its leading docstring."""
    tree = ast.parse(text)
    first = tree.body[0] if tree.body else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        raise ValueError("reward.py has no header docstring")
    lines = text.splitlines(keepends=True)
    end = first.end_lineno or 1
    header, rest = "".join(lines[:end]), lines[end:]
    if rest and rest[0].strip() == "":
        rest = rest[1:]
    return header, "".join(rest)


def build_manifest(run: RunInfo, candidate: CandidateInfo, code: str, stamp: str,
                   files: dict[str, str]) -> dict[str, Any]:
    fitness_spec = run.task.get("fitness", {})
    lineage = []
    for member in run.lineage(candidate.id):
        metrics = run.metrics(member) or {}
        lineage.append({"candidate": member.id, "iteration": member.iteration, "parent": member.parent_id,
                        "fitness": member.fitness, "fitness_per_seed": member.fitness_per_seed,
                        "components": member.components, "reflection": metrics.get("reflection")})
    try:
        version = metadata.version("eureka")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "format_version": MANIFEST_FORMAT,
        "exported": stamp,
        "exported_by": {"eureka": version},
        "run": {"run_id": run.run_id, "path": str(run.directory), "status": run.status, "model": run.model,
                "settings": run.settings, "versions": run.versions,
                "started": run.started.isoformat(timespec="seconds") if run.started else None},
        "candidate": {"id": candidate.id, "iteration": candidate.iteration, "parent": candidate.parent_id,
                      "directory": candidate.directory, "components": candidate.components},
        "task": run.task,
        "fitness": {"metric": fitness_spec.get("metric"), "direction": fitness_spec.get("direction", "maximize"),
                    "target": fitness_spec.get("target"), "value": candidate.fitness,
                    "per_seed": _per_seed(run, candidate)},
        "lineage": lineage,
        "reward_sha256": sha256_text(code),
        "files": files,
    }


# -- the generated modules -----------------------------------------------------------------
WRAPPER_TEMPLATE = "export/wrapper.py.j2"
JAX_TEMPLATE = "export/reward_jax.py.j2"
ISAAC_TEMPLATE = "export/isaac_task.py.j2"
BASE_ENV_TEMPLATES = {"gymnasium": "export/gymnasium_base_env.py.j2", "jax": "export/gymnax_base_env.py.j2"}


def _env_fields(run: RunInfo) -> dict[str, Any]:
    env = run.task.get("env", {})
    return {"task_name": _docstring_safe(run.task_name), "env_id": _docstring_safe(env.get("id")),
            "backend": env.get("backend", "gymnasium")}


def wrapper_file_text(run: RunInfo, candidate: CandidateInfo) -> str:
    env = run.task.get("env", {})
    jax_backend = env.get("backend", "gymnasium") == "jax"
    return source_environment().get_template(WRAPPER_TEMPLATE).render(
        **_env_fields(run),
        extra_deps=" (and jax and gymnax for this jax task)" if jax_backend else "",
        env_id_repr=repr(str(env.get("id"))),
        env_kwargs=repr(dict(env.get("kwargs") or {})),
        max_episode_steps=repr(env.get("max_episode_steps")),
        components=repr(list(candidate.components)),
        base_env_template=BASE_ENV_TEMPLATES["jax" if jax_backend else "gymnasium"],
    )


def isaac_task_file_text(run: RunInfo, candidate: CandidateInfo) -> str:
    env = run.task.get("env", {})
    return source_environment().get_template(ISAAC_TEMPLATE).render(
        **_env_fields(run), env_id_repr=repr(str(env.get("id"))), components=repr(list(candidate.components)))


def jax_file_text(run: RunInfo) -> str:
    from eureka.envs import space_info
    from eureka.task import EnvSpec

    try:
        obs_dim = space_info(EnvSpec.model_validate(run.task["env"])).obs_dim
    except Exception:  # the env cannot be built here: the doctest only needs a width
        obs_dim = 1
    return source_environment().get_template(JAX_TEMPLATE).render(**_env_fields(run), obs_dim=obs_dim)


# -- verify -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyResult:
    directory: Path
    checks: list[Check] = field(default_factory=list)
    seed: int | None = None
    recorded_fitness: float | None = None
    retrained_fitness: float | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def fitness_tolerance(fitness_spec: dict[str, Any], recorded: float) -> float:
    """How far a re-trained fitness may be from the recorded one and still reproduce it:
    10% of the recorded value, and at least one evaluation episode's worth of a success rate
    (1 / eval_episodes) for metric success_rate."""
    tolerance = RELATIVE_TOLERANCE * abs(recorded)
    if fitness_spec.get("metric") == "success_rate":
        tolerance = max(tolerance, 1.0 / max(int(fitness_spec.get("eval_episodes") or 10), 1))
    return tolerance


def fitness_reproduced(fitness_spec: dict[str, Any], recorded: float, retrained: float | None) -> tuple[bool, str]:
    """Is `retrained` a reproduction of `recorded`?

    Yes when within `fitness_tolerance` of it, or when the task has a target and both reach
    it (training is seeded, so on the same machine and library versions the value is usually
    identical; the tolerance covers other machines and versions).
    """
    if retrained is None or not math.isfinite(retrained):
        return False, "the re-trained policy has no fitness"
    tolerance = fitness_tolerance(fitness_spec, recorded)
    difference = abs(retrained - recorded)
    if difference <= tolerance:
        return True, f"|{retrained:.6g} - {recorded:.6g}| = {difference:.4g} <= tolerance {tolerance:.4g}"
    target = fitness_spec.get("target")
    if target is not None:
        minimize = fitness_spec.get("direction") == "minimize"
        reached = (lambda v: v <= target) if minimize else (lambda v: v >= target)
        if reached(recorded) and reached(retrained):
            return True, f"both {recorded:.6g} and {retrained:.6g} reach the task's target {target:.6g}"
    return False, f"|{retrained:.6g} - {recorded:.6g}| = {difference:.4g} > tolerance {tolerance:.4g}"


def read_manifest(export_dir: Path) -> dict[str, Any]:
    path = Path(export_dir) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{export_dir}: not a eureka export (no {MANIFEST})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: corrupted JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format_version") != MANIFEST_FORMAT:
        raise ExportError(f"{path}: not a eureka export manifest of format {MANIFEST_FORMAT}")
    return data


def check_files(export_dir: Path, manifest: dict[str, Any]) -> list[Check]:
    """Every file listed in the manifest exists with its sha256; reward.py's code has its hash."""
    checks = []
    for name, digest in sorted(manifest.get("files", {}).items()):
        path = Path(export_dir) / name
        if not path.is_file():
            checks.append(Check(f"sha256 {name}", False, "file missing"))
            continue
        actual = sha256_file(path)
        checks.append(Check(f"sha256 {name}", actual == digest,
                            "matches the manifest" if actual == digest else f"is {actual}, manifest says {digest}"))
    try:
        _, code = split_reward_file((Path(export_dir) / REWARD_FILE).read_text())
        actual = sha256_text(code)
        expected = manifest.get("reward_sha256")
        checks.append(Check("reward code sha256", actual == expected,
                            "matches the manifest" if actual == expected else f"is {actual}, manifest says {expected}"))
    except (OSError, SyntaxError, ValueError) as exc:
        checks.append(Check("reward code sha256", False, f"cannot read reward.py: {exc}"))
    return checks


Progress = Callable[[str], None]


def verify_export(export_dir: Path, sandbox: Any, seed: int | None = None,
                  progress: Progress | None = None) -> VerifyResult:
    """Check an export: file hashes, the critic's probe in `sandbox`, and one re-trained seed.

    `seed` defaults to the first seed with a recorded fitness. The re-training uses the
    task's own budget from the manifest (timesteps, hyperparameters, eval episodes).
    """
    from eureka.config import PROBE_TRANSITIONS  # the transitions the run's own critic probed with
    from eureka.critic.checks import Critic
    from eureka.envs import sample_transitions, space_info
    from eureka.task import task_from_dict
    from eureka.training.runner import CandidateCode, TrainingRunner

    say = progress or (lambda _message: None)
    export_dir = Path(export_dir)
    manifest = read_manifest(export_dir)
    result = VerifyResult(export_dir)
    result.checks.extend(check_files(export_dir, manifest))
    code = (export_dir / REWARD_FILE).read_text()
    task = task_from_dict(manifest["task"])
    if task.env.backend == "isaacgym":
        from eureka.envs.isaacgym_backend import unavailable_reason

        result.checks.append(Check("probe and re-train", False, f"not done: {unavailable_reason()}"))
        return result

    say("probing reward.py in the sandbox")
    space = space_info(task.env)
    transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
    verdict = Critic(sandbox, space, transitions).check_code(code)
    expected = manifest["candidate"].get("components") or []
    if verdict.accepted and sorted(verdict.components) != sorted(expected):
        result.checks.append(Check("critic probe", False, f"components {verdict.components}, recorded {expected}"))
    else:
        result.checks.append(Check("critic probe", verdict.accepted,
                                   f"passed; components {', '.join(verdict.components)}" if verdict.accepted
                                   else f"rejected at {verdict.stage}: {'; '.join(verdict.problems)}"))

    recorded = [s for s in manifest["fitness"].get("per_seed", []) if s.get("fitness") is not None]
    if seed is not None:
        recorded = [s for s in recorded if s.get("seed") == seed]
    if not recorded:
        result.checks.append(Check("re-train", False, "no recorded fitness for "
                                   + ("any seed" if seed is None else f"seed {seed}")))
        return result
    result.seed, result.recorded_fitness = int(recorded[0]["seed"]), float(recorded[0]["fitness"])
    one_seed = task.model_copy(update={"training": task.training.model_copy(update={"seeds": [result.seed]})})
    say(f"re-training seed {result.seed} ({task.training.timesteps} steps)")
    (outcome,) = TrainingRunner(sandbox, one_seed, workers=1).train([CandidateCode("verify", code)])
    member = outcome.members[0]
    result.retrained_fitness = member.fitness if member.status == "ok" else None
    ok, detail = fitness_reproduced(manifest["fitness"] | {"eval_episodes": task.fitness.eval_episodes},
                                    result.recorded_fitness, result.retrained_fitness)
    if member.status != "ok":
        detail = f"training failed: {member.error}"
    result.checks.append(Check(f"re-train seed {result.seed}", ok,
                               detail + " (scored by the evaluation job, which runs no reward code)"))
    return result
