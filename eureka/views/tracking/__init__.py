"""Experiment tracking (`--log tensorboard`, `--log mlflow`): a run's curves in the tools people
already use to look at RL runs.

A tracker observes a run and nothing else: `attach` puts it in front of the run's listener, so
it sees the same events events.jsonl gets; at the end of each generation it reads that
generation's records back from the run directory (candidate.json, metrics.json,
baselines/*.json, run.json) and writes them out. Data flows one way, loop -> records ->
tracker, and the loop knows nothing of TensorBoard or MLflow. What was logged is kept in
`<run dir>/tracking/<tracker>.json`, so a resumed run logs each candidate and generation once.
A tracker that fails is dropped with a warning (a `tracking_failed` event); the run goes on.

    tensorboard   <run dir>/tensorboard/<candidate>/ (one TensorBoard run per candidate) and
                  <run dir>/tensorboard/run/ (best fitness per generation): tensorboardX
    mlflow        one MLflow run per eureka run, a nested run per candidate; the store is
                  $MLFLOW_TRACKING_URI, else sqlite:///<run dir>/mlflow.db
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

INSTALL = {"tensorboard": ("tensorboardX", "pip install 'eureka[tensorboard]'"),
           "mlflow": ("mlflow", "pip install 'eureka[mlflow]'")}

Listener = Callable[[str, dict[str, Any]], None]


class TrackingUnavailable(RuntimeError):
    """A tracker was asked for whose package is not installed. The message names the install."""


def require(kinds: list[str]) -> None:
    """Raise TrackingUnavailable, naming the install command, if a tracker's package is missing."""
    import importlib

    for kind in kinds:
        module, command = INSTALL[kind]
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise TrackingUnavailable(f"--log {kind} needs the {module} package ({exc}): {command}") from None


def attach(kinds: list[str], run_dir: Path, listener: Listener | None,
           record: Callable[..., None]) -> Listener | None:
    """A listener that tracks the run in `kinds` and passes every event on to `listener`;
    `listener` itself when there is nothing to track. `record(kind, **data)` writes an event
    (a tracker's failure) to events.jsonl."""
    if not kinds:
        return listener
    from eureka.views.tracking.observer import RunTracking, make_tracker

    return RunTracking(run_dir, [make_tracker(kind, run_dir) for kind in kinds], listener, record)
