"""`--log mlflow`: one MLflow run per eureka run (named by the run id; the run's settings as
params; `best_fitness`, `best_fitness_so_far`, `candidates` and `accepted` per generation as
metrics with the generation as step) and a nested run per candidate (params: candidate,
generation, parent, designer, island, status, seeds; metrics: the curves of
eureka.views.tracking.curves against env steps, and `final_fitness`).

The store is $MLFLOW_TRACKING_URI when set (a server, or any store MLflow takes), else
`sqlite:///<run dir>/mlflow.db` (MLflow's file store, `./mlruns`, refuses to start in MLflow 3.x
without an opt-out; SQLite is the local store it recommends). The experiment is
$MLFLOW_EXPERIMENT_NAME, else `eureka-<task name>`. View a run's own store with
`mlflow ui --backend-store-uri sqlite:///runs/<id>/mlflow.db` (the UI needs the full `mlflow`
package; eureka[mlflow] installs `mlflow-skinny`, the client).

eureka turns MLflow's usage telemetry off (MLFLOW_DISABLE_TELEMETRY=true) unless it is set.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from eureka.rundir.reader import RunInfo
from eureka.views.tracking.curves import CandidateCurves, GenerationPoint

STATUS = {"finished": "FINISHED", "failed": "FAILED", "stopped": "KILLED", "waiting": "KILLED"}
MAX_METRICS, MAX_PARAM = 1000, 6000  # per log_batch call; characters of a param value


def _client(uri: str) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    for name in ("mlflow.store.db.utils", "alembic"):  # "Creating initial MLflow database tables..."
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def _now_ms() -> int:
    return int(time.time() * 1000)


class MlflowTracker:
    name = "mlflow"

    def __init__(self, run_dir: Path, uri: str | None, experiment: str | None) -> None:
        self.run_dir = run_dir.resolve()
        self.local = uri is None
        self.uri = uri or f"sqlite:///{self.run_dir / 'mlflow.db'}"
        self.experiment_name = experiment
        self.client: Any = None
        self.experiment_id = ""
        self.parent = ""
        self.run_id = run_dir.name

    def start(self, run: RunInfo, state: dict[str, str]) -> bool:
        self.client = _client(self.uri)
        self.run_id = run.run_id
        store = hashlib.sha256(self.uri.encode()).hexdigest()  # a server's URI may hold a password
        if state.get("store") == store and self._active(state.get("parent_run", "")):
            self.experiment_id, self.parent = state["experiment"], state["parent_run"]
            self.client.update_run(self.parent, status="RUNNING")
            return False
        self.experiment_id = self._experiment(run)
        self.parent = self.client.create_run(self.experiment_id, run_name=run.run_id, tags={
            "eureka.run_id": run.run_id, "eureka.task": run.task_name, "eureka.run_dir": str(self.run_dir),
            "mlflow.note.content": f"eureka run {run.run_id} of task {run.task_name}"}).info.run_id
        self._log(self.parent, params=run_params(run))
        state.clear()
        state.update(store=store, experiment=self.experiment_id, parent_run=self.parent)
        return True

    def _active(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        if not run_id:
            return False
        try:
            return self.client.get_run(run_id).info.lifecycle_stage == "active"
        except MlflowException:
            return False

    def _experiment(self, run: RunInfo) -> str:
        from mlflow.exceptions import MlflowException

        name = self.experiment_name or f"eureka-{run.task_name}"
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = (self.run_dir / "mlflow-artifacts").as_uri() if self.local else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException:  # another run created it just now
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _log(self, run_id: str, metrics: list[tuple[str, float, int]] | None = None,
             params: dict[str, str] | None = None) -> None:
        from mlflow.entities import Metric, Param

        stamp = _now_ms()
        entries = [Metric(key, float(value), stamp, step) for key, value, step in metrics or []]
        items = [Param(key, value[:MAX_PARAM]) for key, value in (params or {}).items()]
        for start in range(0, max(len(entries), 1), MAX_METRICS):
            self.client.log_batch(run_id, metrics=entries[start:start + MAX_METRICS],
                                  params=items if start == 0 else [])

    def candidate(self, curves: CandidateCurves) -> None:
        child = self.client.create_run(self.experiment_id, run_name=curves.id, tags={
            "mlflow.parentRunId": self.parent, "eureka.run_id": self.run_id, "eureka.candidate": curves.id}).info.run_id
        metrics = [(name, value, step) for name, points in curves.series.items() for step, value in points]
        if curves.fitness is not None:
            metrics.append(("final_fitness", curves.fitness, curves.final_step))
        params = {"candidate": curves.id, "generation": str(curves.generation), "parent": curves.parent_id or "-",
                  "designer": curves.designer, "island": str(curves.island), "status": curves.status,
                  "seeds": ",".join(map(str, curves.seeds))}
        if curves.edit:
            params["edit"] = curves.edit
        self._log(child, metrics, params)
        self.client.set_terminated(child, status="FINISHED" if curves.status == "trained" else "FAILED")

    def generation(self, point: GenerationPoint) -> None:
        values = {"best_fitness": point.best_fitness, "best_fitness_so_far": point.best_so_far,
                  "candidates": point.candidates, "accepted": point.accepted}
        self._log(self.parent, [(name, value, point.iteration) for name, value in values.items() if value is not None])

    def flush(self) -> None:
        pass  # every call above is written when it returns

    def finish(self, status: str) -> None:
        self.client.set_terminated(self.parent, status=STATUS.get(status, "FINISHED"))


def run_params(run: RunInfo) -> dict[str, str]:
    """The parent run's params: the task's essentials and the run's settings (RunConfig)."""
    task = run.task
    training = task.get("training") or {}
    params = {"task": run.task_name, "model": str(run.model or ""), "env": str((task.get("env") or {}).get("id", "")),
              "backend": str((task.get("env") or {}).get("backend", "")),
              "fitness_metric": str((task.get("fitness") or {}).get("metric", "")),
              "timesteps": str(training.get("timesteps", "")), "training_seeds": str(training.get("seeds", ""))}
    for key, value in sorted(run.settings.items()):
        if value is None or isinstance(value, dict):
            continue
        params[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return {key: value for key, value in params.items() if value != ""}
