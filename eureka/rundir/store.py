"""The run directory: everything a run produces, written as the run goes.

runs/<run-id>/
  run.json                      task, model, settings, per-iteration best, final best
  events.jsonl                  one JSON object per line, appended as things happen
  llm/NNNN.json                 every request (messages) and reply (text, tokens, cost)
  iter_<i>/cand_<j>/            reply.md, reward.py, critic.json, metrics.json
  best/reward.py                the best reward so far

Every file is written atomically by eureka.rundir.writer (temp file, fsync, rename), so a
killed run leaves only whole files behind; the loop hands this store typed records
(eureka.rundir.records), never hand-built dicts.
"""

from __future__ import annotations

import json
import os
import platform
import threading
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from eureka.design.llm.base import Completion, Message
from eureka.rundir.records import Candidate, Critic, Event, EventKind, Metrics, Run
from eureka.rundir.writer import atomic_write_json, atomic_write_text, jsonable

RUN_FORMAT_VERSION = 1
RECORDED_PACKAGES = ("eureka", "numpy", "gymnasium", "stable-baselines3", "torch", "jax", "gymnax",
                     "rejax", "litellm", "llama_cpp_python")


class RunStoreError(RuntimeError):
    """A run directory is missing, from another version, or has a corrupted file."""


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunStoreError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunStoreError(f"{path}: corrupted JSON ({exc})") from None


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def new_run_id(task_name: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task_name}-{os.urandom(2).hex()}"


class RunStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._llm_count = len(list((directory / "llm").glob("*.json"))) if (directory / "llm").is_dir() else 0

    @classmethod
    def open(cls, directory: Path) -> tuple["RunStore", dict[str, Any]]:
        """An existing run directory and its run.json, checked for format and integrity."""
        if not directory.is_dir():
            raise RunStoreError(f"{directory}: no such run directory")
        run = read_json(directory / "run.json")
        if not isinstance(run, dict) or "format_version" not in run:
            raise RunStoreError(f"{directory / 'run.json'}: not a eureka run file")
        if run["format_version"] != RUN_FORMAT_VERSION:
            raise RunStoreError(f"{directory / 'run.json'}: written by run format {run['format_version']}, "
                                f"this eureka reads format {RUN_FORMAT_VERSION}")
        store = cls(directory)
        store.repair_events()
        return store, run

    def repair_events(self) -> None:
        """Drop a torn last line of events.jsonl (a kill while appending)."""
        path = self.path("events.jsonl")
        if not path.is_file():
            return
        lines = path.read_text().splitlines(keepends=True)
        good = []
        for line in lines:
            try:
                json.loads(line)
            except json.JSONDecodeError:
                continue
            good.append(line if line.endswith("\n") else line + "\n")
        if good != lines:
            atomic_write_text(path, "".join(good))

    @classmethod
    def create(cls, runs_root: Path, task_name: str) -> "RunStore":
        directory = runs_root / new_run_id(task_name)
        directory.mkdir(parents=True)
        return cls(directory)

    @property
    def run_id(self) -> str:
        return self.directory.name

    def path(self, *parts: str) -> Path:
        return self.directory.joinpath(*parts)

    def write_json(self, relative: str, data: Any) -> Path:
        path = self.path(relative)
        atomic_write_json(path, data)
        return path

    def write_text(self, relative: str, text: str) -> Path:
        path = self.path(relative)
        atomic_write_text(path, text)
        return path

    def read_json(self, relative: str) -> Any:
        return read_json(self.path(relative))

    def write_run(self, run: Run) -> Path:
        return self.write_json("run.json", run)

    def write_candidate(self, candidate: Candidate) -> Path:
        return self.write_json(f"{candidate.directory}/candidate.json", candidate)

    def write_critic(self, directory: str, critic: Critic) -> Path:
        return self.write_json(f"{directory}/critic.json", critic.file_data())

    def write_metrics(self, directory: str, metrics: Metrics) -> Path:
        return self.write_json(f"{directory}/metrics.json", metrics)

    def read_candidate(self, directory: str) -> Candidate:
        return Candidate.model_validate(self.read_json(f"{directory}/candidate.json"))

    def read_metrics(self, directory: str) -> Metrics:
        return Metrics.model_validate(self.read_json(f"{directory}/metrics.json"))

    def event(self, kind: EventKind | str, /, **data: Any) -> None:
        line = json.dumps(jsonable(Event(event=EventKind(kind), **data)))
        with self._lock, open(self.path("events.jsonl"), "a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def record_llm_call(self, purpose: str, messages: list[Message], completion: Completion) -> str:
        with self._lock:
            self._llm_count += 1
            name = f"llm/{self._llm_count:04d}.json"
        self.write_json(name, {"purpose": purpose, "messages": messages, "completion": completion})
        return name

    def recorded_replies(self) -> dict[str, Completion]:
        """Every recorded LLM reply by purpose ("i0-c1:design", "i0-c1:repair1", ...)."""
        replies = {}
        for path in sorted(self.path("llm").glob("*.json")) if self.path("llm").is_dir() else []:
            data = read_json(path)
            try:
                replies[data["purpose"]] = Completion(**data["completion"])
            except (KeyError, TypeError):
                raise RunStoreError(f"{path}: not an LLM call record") from None
        return replies

    @staticmethod
    def candidate_dir(iteration: int, index: int) -> str:
        return f"iter_{iteration}/cand_{index}"
