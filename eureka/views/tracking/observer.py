"""The observer between a run and its trackers: which events it acts on, what it has logged
(the ledger, so a resumed run logs nothing twice), and what happens when a tracker fails."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

from pydantic import BaseModel, ConfigDict, Field

from eureka.rundir.reader import RunInfo, read_record, read_run
from eureka.rundir.records import EventKind, IterationSummary
from eureka.rundir.store import RunStoreError
from eureka.rundir.writer import atomic_write_json
from eureka.views.tracking.curves import (CandidateCurves, GenerationPoint, baseline_curves, candidate_curves,
                                          finished_summaries, generation_points)

LOG = logging.getLogger("eureka.tracking")
LEDGER_DIR = "tracking"
ENDS = {EventKind.RUN_FINISHED: "finished", EventKind.RUN_FAILED: "failed", EventKind.RUN_WAITING: "waiting"}


class Tracker(Protocol):
    name: str

    def start(self, run: RunInfo, state: dict[str, str]) -> bool:
        """Open the tracker for `run`, with the state it kept in the ledger last time (it may change
        it). True when it holds nothing of this run yet, so everything is logged again."""

    def candidate(self, curves: CandidateCurves) -> None: ...

    def generation(self, point: GenerationPoint) -> None: ...

    def flush(self) -> None: ...

    def finish(self, status: str) -> None:
        """The run ended (finished, failed, stopped or waiting): close."""


class Ledger(BaseModel):
    """tracking/<tracker>.json: what a tracker has logged of this run."""

    model_config = ConfigDict(extra="forbid")

    candidates: list[str] = Field(default_factory=list)
    generations: list[int] = Field(default_factory=list)
    state: dict[str, str] = Field(default_factory=dict)  # the tracker's own (MLflow: its run ids)


def make_tracker(kind: str, run_dir: Path) -> Tracker:
    if kind == "tensorboard":
        from eureka.views.tracking.tensorboard_log import TensorBoardTracker

        return TensorBoardTracker(run_dir / "tensorboard")
    if kind == "mlflow":
        from eureka.config import env_mlflow_experiment, env_mlflow_tracking_uri
        from eureka.views.tracking.mlflow_log import MlflowTracker

        return MlflowTracker(run_dir, env_mlflow_tracking_uri(), env_mlflow_experiment())
    raise ValueError(f"unknown tracker {kind!r}")


class RunTracking:
    """A run's listener that logs finished generations to its trackers, then passes every event on."""

    def __init__(self, run_dir: Path, trackers: list[Tracker], listener: Callable[[str, dict[str, Any]], None] | None,
                 record: Callable[..., None]) -> None:
        self.run_dir, self.trackers, self.listener, self.record = run_dir, list(trackers), listener, record
        self.ledgers: dict[str, Ledger] = {}
        self.lock = threading.Lock()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if self.listener:
            self.listener(kind, data)
        if kind in (EventKind.RUN_STARTED, EventKind.GENERATION_FINISHED, *ENDS):
            with self.lock:
                self.observe(kind, data)

    def observe(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ENDS:
            error = str(data.get("error") or "")
            self.finish("stopped" if error.startswith("KeyboardInterrupt") else ENDS[EventKind(kind)])
            return
        try:
            run = read_run(self.run_dir)
            summaries = {s.iteration: s for s in finished_summaries(run)}
            if kind == EventKind.GENERATION_FINISHED:  # run.json has it only after this event
                summaries[int(data["iteration"])] = IterationSummary.model_validate(data)
        except (RunStoreError, KeyError, TypeError, ValueError) as exc:
            self.warn("all", f"cannot read the run's records: {exc}")
            return
        for tracker in list(self.trackers):
            try:
                self.sync(tracker, run, list(summaries.values()))
            except Exception as exc:  # noqa: BLE001  a tracker never ends a run
                self.drop(tracker, exc)

    def sync(self, tracker: Tracker, run: RunInfo, summaries: list[IterationSummary]) -> None:
        """Log what `tracker` has not logged yet of the finished generations `summaries`."""
        ledger = self.ledger(tracker, run)
        finished = {s.iteration for s in summaries}
        found: list[CandidateCurves] = baseline_curves(self.run_dir) if finished else []
        for candidate in run.candidates:
            if candidate.iteration in finished and candidate.status in ("trained", "failed") \
                    and candidate.id not in ledger.candidates:
                try:
                    found.append(candidate_curves(run, candidate))
                except RunStoreError as exc:
                    self.warn(tracker.name, f"{candidate.id} not logged: {exc}")
        for curves in found:
            if curves.id not in ledger.candidates:
                tracker.candidate(curves)
                ledger.candidates.append(curves.id)
        for point in generation_points(summaries, run.direction):
            if point.iteration not in ledger.generations:
                tracker.generation(point)
                ledger.generations.append(point.iteration)
        tracker.flush()
        atomic_write_json(self.run_dir / LEDGER_DIR / f"{tracker.name}.json", ledger)

    def ledger(self, tracker: Tracker, run: RunInfo) -> Ledger:
        """The tracker's ledger; the tracker is started on first use."""
        if tracker.name not in self.ledgers:
            path = self.run_dir / LEDGER_DIR / f"{tracker.name}.json"
            try:
                ledger = Ledger.model_validate(read_record(path)) if path.is_file() else Ledger()
            except (RunStoreError, ValueError):
                ledger = Ledger()
            if tracker.start(run, ledger.state):
                ledger = Ledger(state=ledger.state)
            self.ledgers[tracker.name] = ledger
        return self.ledgers[tracker.name]

    def finish(self, status: str) -> None:
        for tracker in list(self.trackers):
            if tracker.name in self.ledgers:
                try:
                    tracker.finish(status)
                except Exception as exc:  # noqa: BLE001
                    self.warn(tracker.name, f"closing failed: {type(exc).__name__}: {exc}")
        self.ledgers.clear()

    def drop(self, tracker: Tracker, exc: BaseException) -> None:
        """Stop logging to a tracker that failed; the run and the other trackers go on."""
        self.trackers.remove(tracker)
        if self.ledgers.pop(tracker.name, None) is not None:
            try:
                tracker.finish("failed")
            except Exception:  # noqa: BLE001  it failed already; the first error is the one reported
                pass
        self.warn(tracker.name, f"{type(exc).__name__}: {exc}; the run goes on without it")

    def warn(self, tracker: str, error: str) -> None:
        data = {"tracker": tracker, "error": error}
        try:
            self.record(EventKind.TRACKING_FAILED, **data)
        except OSError:
            pass
        if self.listener:
            self.listener(EventKind.TRACKING_FAILED, data)
        else:
            LOG.warning("tracking (%s): %s", tracker, error)
