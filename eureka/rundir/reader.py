"""The one reader of run directories: every file a run (or a job inside it) wrote is read here.

- `read_run(run_dir)` reads run.json and every ``iter_*/cand_*/candidate.json`` into a
  `RunInfo` (report, web, refine, export and the runs index use it). A missing or corrupted
  run.json, or one of an unknown format version, raises `RunStoreError` naming the file (and
  the version); a corrupted candidate file is listed in ``RunInfo.problems``.
- `read_run_file(run_dir)` is run.json alone, checked the same way (for listing many runs).
- `RunInfo.metrics`, `.critic`, `.rollouts` and `read_feedback` read the other files.

Every JSON file goes through `read_record`, the one function that opens them.

Example::

    run = read_run(Path("runs/20250101-120000-cartpole-ab12"))
    best = run.best_candidate()
    print(best.id, best.fitness, run.metrics(best)["reflection"])
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eureka.rundir.store import RUN_FORMAT_VERSION, RunStoreError, read_json

RUN_FILE = "run.json"
REWARD_FILE = "reward.py"
FEEDBACK_DIR = "feedback"
_CANDIDATE_DIR = re.compile(r"^iter_(\d+)/cand_(\d+)$")


def read_record(path: Path) -> Any:
    """The JSON value of one file of a run directory. Raises RunStoreError (missing, corrupted).

    Every JSON file of a run directory is read through here, so how they are opened (size
    caps, links) is decided in one place.
    """
    return read_json(path)


def read_run_file(run_dir: Path) -> dict[str, Any]:
    """run.json of `run_dir`, checked: a eureka run file of the format this eureka reads.

    Raises RunStoreError naming the file, and the version when it is one this eureka cannot read.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunStoreError(f"{run_dir}: no such run directory")
    run_file = run_dir / RUN_FILE
    raw = read_record(run_file)
    if not isinstance(raw, dict) or not isinstance(raw.get("task"), dict) or "name" not in raw["task"]:
        raise RunStoreError(f"{run_file}: not a eureka run file (no task)")
    version = raw.get("format_version")
    if version == RUN_FORMAT_VERSION:
        return raw
    if "format_version" not in raw:
        raise RunStoreError(f"{run_file}: not a eureka run file (no format_version)")
    if isinstance(version, int) and not isinstance(version, bool) and version > RUN_FORMAT_VERSION:
        raise RunStoreError(f"{run_file}: written in run format {version} by a newer eureka; this eureka "
                            f"reads run format {RUN_FORMAT_VERSION} (upgrade eureka to read this run)")
    raise RunStoreError(f"{run_file}: run format {version!r} is unknown; "
                        f"this eureka reads run format {RUN_FORMAT_VERSION}")


@dataclass(frozen=True)
class CandidateInfo:
    """One candidate as recorded in its ``candidate.json``."""

    id: str
    iteration: int
    index: int
    parent_id: str | None
    directory: str  # relative to the run directory
    status: str  # rejected | trained | failed
    fitness: float | None
    fitness_per_seed: list[float | None]
    components: list[str]
    problems: list[str]
    path: Path  # absolute candidate directory
    edit: str | None = None  # eureka's structural edit of the parent (structured mode)
    island: int = 0
    human: bool = False  # a person's reward (the candidate directory holds human.json)
    reward_sha256: str | None = None  # of reward.py as the host wrote it (eureka.rundir.integrity)
    designer: str | None = None  # spec, code, edit or person (None: files from before the field)


@dataclass
class RunInfo:
    """What a run directory says about a run (its files, read once)."""

    run_id: str
    directory: Path
    status: str
    task: dict[str, Any]
    model: str | None
    settings: dict[str, Any]
    versions: dict[str, str]
    iterations: list[dict[str, Any]]
    baselines: dict[str, float | None]
    best: dict[str, Any] | None  # run.json "best": candidate, fitness, directory, reward
    candidates: list[CandidateInfo]
    started: datetime | None
    cost_usd: float
    tokens: int
    raw: dict[str, Any]  # run.json as read
    problems: list[str] = field(default_factory=list)  # unreadable files, by name

    @property
    def task_name(self) -> str:
        return str(self.task.get("name", "?"))

    @property
    def direction(self) -> str:
        return str((self.task.get("fitness") or {}).get("direction", "maximize"))

    @property
    def target(self) -> float | None:
        return (self.task.get("fitness") or {}).get("target")

    @property
    def best_fitness(self) -> float | None:
        return finite_number((self.best or {}).get("fitness"))

    def candidate(self, candidate_id: str) -> CandidateInfo | None:
        return next((c for c in self.candidates if c.id == candidate_id), None)

    def best_candidate(self) -> CandidateInfo | None:
        """run.json's best; else (a run killed before recording it) the best trained candidate."""
        if self.best and self.best.get("candidate"):
            found = self.candidate(str(self.best["candidate"]))
            if found is not None:
                return found
        trained = [c for c in self.candidates if c.status == "trained" and c.fitness is not None]
        if not trained:
            return None
        sign = -1.0 if self.direction == "minimize" else 1.0
        return max(trained, key=lambda c: sign * c.fitness)

    def lineage(self, candidate_id: str) -> list[CandidateInfo]:
        """The candidate, then its parent, its parent's parent, ... (stops at a missing one)."""
        chain: list[CandidateInfo] = []
        current = self.candidate(candidate_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.candidate(current.parent_id) if current.parent_id else None
        return chain

    def metrics(self, candidate: CandidateInfo) -> dict[str, Any] | None:
        """The candidate's metrics.json (None if it was not trained or the file is unreadable)."""
        return _optional_mapping(candidate.path / "metrics.json")

    def critic(self, candidate: CandidateInfo) -> dict[str, Any] | None:
        """The candidate's critic.json (None if missing or unreadable)."""
        return _optional_mapping(candidate.path / "critic.json")

    def code(self, candidate: CandidateInfo) -> str | None:
        """The candidate's reward.py as the run wrote it (None when no code was extracted, or it is
        unreadable, a link, or not what the run recorded: see `code_problem`)."""
        return self.checked_code(candidate)[0]

    def code_problem(self, candidate: CandidateInfo) -> str | None:
        return self.checked_code(candidate)[1]

    def checked_code(self, candidate: CandidateInfo) -> tuple[str | None, str | None]:
        from eureka.rundir.integrity import RewardMismatch, read_reward

        file = candidate.path / REWARD_FILE
        if not file.exists() and not file.is_symlink():
            return None, None
        try:
            return read_reward(candidate.path, candidate.reward_sha256), None
        except RewardMismatch as exc:
            return None, f"reward.py not shown: {exc}"

    def rollouts(self, candidate: CandidateInfo) -> list[dict[str, Any]]:
        """The candidate's rollout_seed*.json records (videos), by seed; unreadable ones skipped."""
        found = (_optional_mapping(path) for path in sorted(candidate.path.glob("rollout_seed*.json")))
        return [record for record in found if record is not None]


def _optional_mapping(path: Path) -> dict[str, Any] | None:
    try:
        data = read_record(path) if path.is_file() else None
    except RunStoreError:
        return None
    return data if isinstance(data, dict) else None


def finite_number(value: Any) -> float | None:
    """`value` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def read_run(run_dir: Path) -> RunInfo:
    """Read a run directory. Raises RunStoreError if it is not a readable eureka run."""
    run_dir = Path(run_dir)
    raw = read_run_file(run_dir)
    problems: list[str] = []
    candidates = _read_candidates(run_dir, problems)
    cost, tokens = _llm_usage(run_dir, problems)
    best = raw.get("best")
    return RunInfo(
        run_id=run_dir.name,  # unique in its runs directory; run.json says the same unless copied
        directory=run_dir.resolve(),
        status=str(raw.get("status", "unknown")),
        task=raw["task"],
        model=raw.get("model"),
        settings=dict(raw.get("settings") or {}),
        versions=dict(raw.get("versions") or {}),
        iterations=[it for it in raw.get("iterations") or [] if isinstance(it, dict)],
        baselines=dict(raw.get("baselines") or {}),
        best=best if isinstance(best, dict) else None,
        candidates=candidates,
        started=_started(run_dir),
        cost_usd=cost,
        tokens=tokens,
        raw=raw,
        problems=problems,
    )


def _read_candidates(run_dir: Path, problems: list[str]) -> list[CandidateInfo]:
    found = []
    for path in run_dir.glob("iter_*/cand_*/candidate.json"):
        relative = path.parent.relative_to(run_dir).as_posix()
        match = _CANDIDATE_DIR.match(relative)
        if not match:
            continue
        try:
            data = read_record(path)
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise RunStoreError(f"{path}: not a candidate record (no id)")
            found.append(CandidateInfo(
                id=data["id"],
                iteration=int(data.get("iteration", match.group(1))),
                index=int(data.get("index", match.group(2))),
                parent_id=data.get("parent_id"),
                directory=relative,
                status=str(data.get("status", "unknown")),
                fitness=finite_number(data.get("fitness")),
                fitness_per_seed=[finite_number(v) for v in data.get("fitness_per_seed") or []],
                components=[str(c) for c in data.get("components") or []],
                problems=[str(p) for p in data.get("problems") or []],
                path=path.parent.resolve(),
                edit=str(data["edit"]) if data.get("edit") else None,
                reward_sha256=data["reward_sha256"] if isinstance(data.get("reward_sha256"), str) else None,
                island=int(data.get("island") or 0),
                human=(path.parent / "human.json").is_file(),
                designer=data["designer"] if isinstance(data.get("designer"), str) else None,
            ))
        except (RunStoreError, TypeError, ValueError) as exc:
            problems.append(str(exc) if isinstance(exc, RunStoreError) else f"{path}: {exc}")
    return sorted(found, key=lambda c: (c.iteration, c.index))


def _llm_usage(run_dir: Path, problems: list[str]) -> tuple[float, int]:
    """Total cost and tokens of the run's LLM calls (llm/NNNN.json)."""
    cost, tokens = 0.0, 0
    for path in sorted((run_dir / "llm").glob("*.json")):
        try:
            completion = read_record(path).get("completion") or {}
            cost += float(completion.get("cost_usd") or 0.0)
            tokens += int(completion.get("prompt_tokens") or 0) + int(completion.get("completion_tokens") or 0)
        except (RunStoreError, AttributeError, TypeError, ValueError) as exc:
            problems.append(str(exc) if isinstance(exc, RunStoreError) else f"{path}: {exc}")
    return cost, tokens


def _started(run_dir: Path) -> datetime | None:
    """When the run started: its first event, else the time stamp in its id."""
    try:
        with open(run_dir / "events.jsonl") as handle:
            first = json.loads(handle.readline())
        return datetime.fromtimestamp(float(first["time"]), tz=timezone.utc)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return datetime.strptime(run_dir.name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def read_feedback(run_dir: Path) -> list[dict[str, Any]]:
    """The feedback/NNNN.json records of a run (a person's refinement rounds), in order."""
    records = []
    for path in sorted((Path(run_dir) / FEEDBACK_DIR).glob("[0-9][0-9][0-9][0-9].json")):
        try:
            records.append(read_record(path))
        except RunStoreError:
            continue
    return records
