"""Background feedback generations started from the browser: one at a time per run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eureka.views.refine import FeedbackRound, RefineBusy, RefineSession


@dataclass
class Job:
    run_id: str
    kind: str
    started: float = field(default_factory=time.time)
    status: str = "running"  # running, finished, rejected, failed
    message: str = "starting"
    finished: float | None = None
    round: int | None = None
    new_candidates: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def elapsed_s(self) -> int:
        return int((self.finished or time.time()) - self.started)

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """A search listener: keep a one-line description of the latest step."""
        if kind == "generation_started":
            self.message = f"generation {data.get('iteration')} started"
        elif kind == "llm_reply":
            self.message = f"{data.get('candidate')}: reply received"
        elif kind == "critic_verdict":
            verdict = "accepted" if data.get("accepted") else f"rejected at {data.get('stage')}"
            self.message = f"{data.get('candidate')}: critic {verdict}"
        elif kind == "training_started":
            self.message = f"training {', '.join(data.get('candidates') or []) or 'nothing'}"
        elif kind == "training_progress":
            self.message = f"training {data.get('candidate')}: step {data.get('step')}/{data.get('total')}"
        elif kind == "candidate_trained":
            self.message = f"{data.get('candidate')}: {data.get('status')}, fitness {data.get('fitness')}"


class JobBoard:
    """The generations this server started, by run id; at most one running per run."""

    def __init__(self, sandbox: str | None) -> None:
        self.sandbox = sandbox
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def start(self, run_id: str, run_dir: Path, feedback: FeedbackRound) -> Job:
        """Check the round now (FeedbackError), then run it in a daemon thread (RefineBusy if one runs)."""
        session = RefineSession(run_dir, sandbox=self.sandbox)
        session.check(feedback)
        with self._lock:
            current = self._jobs.get(run_id)
            if current is not None and current.running:
                raise RefineBusy(f"a generation of {run_id} is already running ({current.message})")
            job = Job(run_id, feedback.kind)
            self._jobs[run_id] = job
        session.listener = job.on_event
        threading.Thread(target=self._work, args=(job, session, feedback), daemon=True,
                         name=f"eureka-refine-{run_id}").start()
        return job

    @staticmethod
    def _work(job: Job, session: RefineSession, feedback: FeedbackRound) -> None:
        try:
            result = session.apply(feedback, source="web")
        except BaseException as exc:  # noqa: BLE001 - shown on the page; the thread must end cleanly
            job.status, job.message = "failed", f"{type(exc).__name__}: {exc}"
        else:
            job.round, job.new_candidates = result.number, result.new_candidates
            if result.status == "rejected":
                job.status, job.message = "rejected", "your reward was not used: " + "; ".join(result.problems)
            else:
                best = "-" if result.best_fitness is None else f"{result.best_fitness:.4g}"
                job.status = "finished"
                job.message = (f"new candidates {', '.join(result.new_candidates) or 'none'}; "
                               f"best {result.best or '-'} ({best})")
        job.finished = time.time()
