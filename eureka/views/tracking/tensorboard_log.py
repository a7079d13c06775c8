"""`--log tensorboard`: event files under <run dir>/tensorboard/, written with tensorboardX.

One TensorBoard run (a folder) per candidate, so TensorBoard draws the candidates' `fitness`,
`reward_mean`, `episode_length` and `components/<name>` against env steps on shared charts,
plus `final_fitness` (the deterministic evaluation) at the last step and a text card with the
candidate's generation, parent and designer; the folder `run` holds the run's `best_fitness`,
`best_fitness_so_far`, `candidates` and `accepted` per generation. View with
`tensorboard --logdir runs/<id>/tensorboard` (or `--logdir runs` for every run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from eureka.rundir.reader import RunInfo
from eureka.views.tracking.curves import CandidateCurves, GenerationPoint

RUN_FOLDER = "run"


class TensorBoardTracker:
    """Every batch goes into its own event file, closed when written: tensorboardX's `flush` does not
    wait for its writer thread, so only a closed file is sure to hold what the ledger says it does."""

    name = "tensorboard"

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.pending: list[GenerationPoint] = []

    def writer(self, folder: str) -> Any:
        from tensorboardX import SummaryWriter

        # event files are named by second and host and opened "wb": a resumed run's needs its own name, one
        # that sorts after the first one's (TensorBoard reads a folder's files in name order)
        return SummaryWriter(str(self.logdir / folder), filename_suffix=f".{time.time_ns()}.{os.getpid()}")

    def start(self, run: RunInfo, state: dict[str, str]) -> bool:
        fresh = not self.logdir.is_dir()  # deleted since: log everything again
        self.logdir.mkdir(parents=True, exist_ok=True)
        return fresh

    def candidate(self, curves: CandidateCurves) -> None:
        writer = self.writer(curves.id)
        try:
            for name, points in curves.series.items():
                for step, value in points:
                    writer.add_scalar(name, value, global_step=step)
            if curves.fitness is not None:
                writer.add_scalar("final_fitness", curves.fitness, global_step=curves.final_step)
            writer.add_text("candidate", card(curves), global_step=curves.final_step)
        finally:
            writer.close()

    def generation(self, point: GenerationPoint) -> None:
        self.pending.append(point)

    def flush(self) -> None:
        if not self.pending:
            return
        writer = self.writer(RUN_FOLDER)
        try:
            for point in self.pending:
                values = {"best_fitness": point.best_fitness, "best_fitness_so_far": point.best_so_far,
                          "candidates": point.candidates, "accepted": point.accepted}
                for name, value in values.items():
                    if value is not None:
                        writer.add_scalar(name, value, global_step=point.iteration)
        finally:
            writer.close()
        self.pending.clear()

    def finish(self, status: str) -> None:
        self.flush()


def card(curves: CandidateCurves) -> str:
    """The candidate as a markdown table (TensorBoard's text tab)."""
    rows = {"generation": curves.generation, "parent": curves.parent_id or "-", "designer": curves.designer,
            "island": curves.island, "status": curves.status, "seeds": ", ".join(map(str, curves.seeds)),
            "final fitness": "-" if curves.fitness is None else f"{curves.fitness:.6g}"}
    if curves.edit:
        rows["edit"] = curves.edit.replace("|", "/").replace("\n", " ")
    return "| | |\n|---|---|\n" + "\n".join(f"| {key} | {value} |" for key, value in rows.items())
