"""The run summary names each count for what it is: designed, passed the critic, trained."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from eureka.loop.search import IterationSummary
from eureka.views.console import RunConsole


def test_the_summary_counts_critic_passes_and_trainings_apart() -> None:
    out = io.StringIO()
    view = RunConsole(Console(file=out, width=160, force_terminal=False))
    view("generation_started", {"iteration": 0})
    for candidate, accepted in (("i0-c0", True), ("i0-c1", True), ("i0-c2", False)):
        view("critic_verdict", {"candidate": candidate, "attempt": 0, "accepted": accepted, "stage": "probe",
                                "problems": [] if accepted else ["constant"]})
    result = SimpleNamespace(
        store=SimpleNamespace(run_id="r1", path=lambda *parts: "/".join(parts)),
        iterations=[IterationSummary(iteration=0, candidates=3, accepted=1, best_candidate="i0-c0", best_fitness=0.0)],
        baselines={"sparse": 0.0}, budget=None, distance_to_human=None, filters={}, island_bests={}, best=None)
    view.summary(result)
    table = out.getvalue().split("run r1", 1)[1]
    assert "designed" in table and "critic passed" in table and "trained" in table and "accepted" not in table
    row = next(line for line in table.splitlines() if "i0-c0" in line)
    assert row.replace("│", " ").split()[:5] == ["0", "3", "2", "1", "i0-c0"]
