"""Terminal presentation of a run: progress lines, training bars, the summary table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _fitness(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


class RunConsole:
    """A listener for `Search.emit` that draws the run in the terminal."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        self.iteration: int | None = None
        self.critic_passed: dict[int, set[str]] = {}  # per generation: candidates the critic accepted
        self.nodes: dict[str, list[float]] = {}  # cluster runs: node -> [jobs, seconds run, seconds queued]
        self.mixed = False  # this generation's samples come from more than one designer

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"on_{kind}", None)
        if handler:
            handler(**data)

    def on_run_started(self, run_id, task, model, iterations, samples, **_) -> None:
        self.console.print(f"[bold]eureka[/] run [cyan]{run_id}[/]: task [bold]{task}[/], model {model}, "
                           f"{iterations} iterations x {samples} samples")

    def on_generation_started(self, iteration, designers=None, tuning=False, **_) -> None:
        self.iteration = iteration
        self.critic_passed.setdefault(iteration, set())
        self.mixed = len(designers or {}) > 1
        mix = " (" + ", ".join(f"{count} {name}" for name, count in designers.items()) + " samples)" \
            if self.mixed else ""
        self.console.rule(f"generation {iteration}{mix}" + (" (the best spec's weights and widths)" if tuning else ""))

    def _who(self, designer: str | None) -> str:
        return f" [{designer}]" if self.mixed and designer else ""

    def _critic_pass(self, candidate: str) -> None:
        if self.iteration is not None:
            self.critic_passed.setdefault(self.iteration, set()).add(candidate)

    def on_llm_reply(self, candidate, attempt, completion_tokens, latency_s, designer=None, **_) -> None:
        what = "reply" if attempt == 0 else f"repair {attempt}"
        speed = f", {completion_tokens / latency_s:.1f} tok/s" if latency_s > 0.5 else ""
        self.console.print(f"  {candidate}{self._who(designer)}: {what} ({completion_tokens} tokens, "
                           f"{latency_s:.1f} s{speed})", highlight=False, markup=False)

    def on_llm_progress(self, candidate, tokens, tokens_per_s, **_) -> None:
        if self.console.is_terminal:
            self.console.print(f"  {candidate}: generating… {tokens} tokens, {tokens_per_s:.1f} tok/s",
                               end="\r", highlight=False)

    def on_critic_verdict(self, candidate, accepted, stage, problems, designer=None, fixes=(), **_) -> None:
        who = escape(self._who(designer))
        repaired = f" after auto-repair ({escape('; '.join(fixes))})" if fixes and self.mixed else ""
        if accepted:
            self._critic_pass(candidate)
            self.console.print(f"  {candidate}{who}: critic [green]accepted[/]{repaired}", highlight=False)
        else:
            first = escape(problems[0]) if problems else "rejected"
            self.console.print(f"  {candidate}{who}: critic [red]rejected[/] at {stage}: {first}", highlight=False)

    def on_edit_designed(self, candidate, edit, accepted, stage, problems, **_) -> None:
        if accepted:
            self._critic_pass(candidate)
        verdict = "[green]accepted[/]" if accepted else f"[red]rejected[/] at {stage}: " + (
            escape(problems[0]) if problems else "")
        self.console.print(f"  {candidate}: edit of the parent ({escape(edit)}): critic {verdict}", highlight=False)

    def on_training_started(self, candidates, **_) -> None:
        if not candidates:
            self.console.print("  nothing to train in this generation")
            return
        self.progress = Progress(TextColumn("  train {task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.progress.start()
        self.tasks = {c: self.progress.add_task(c, total=None) for c in candidates}

    def on_training_progress(self, candidate, step, total, **_) -> None:
        if self.progress and candidate in self.tasks:
            self.progress.update(self.tasks[candidate], completed=step, total=total)

    def _stop_progress(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None

    def on_candidate_trained(self, candidate, status, fitness, errors, **_) -> None:
        self._stop_progress()
        if status == "trained":
            self.console.print(f"  {candidate}: fitness [bold]{_fitness(fitness)}[/]")
        else:
            self.console.print(f"  {candidate}: training [red]failed[/]: {escape(errors[0]) if errors else ''}")

    def on_constants_tuned(self, candidate, winner, fitness, base_fitness, **_) -> None:
        if winner != "as written":
            self.console.print(f"  {candidate}: constant tuning won: {escape(winner)} "
                               f"({_fitness(fitness)} vs {_fitness(base_fitness)})")

    def on_llm_review(self, candidate, accepted, reasons, **_) -> None:
        verdict = "[green]accepted[/]" if accepted else "[red]rejected[/]"
        detail = f": {escape(reasons[0])}" if reasons and not accepted else ""
        self.console.print(f"  {candidate}: reviewer {verdict}{detail}", highlight=False)

    def on_duplicate_skipped(self, candidate, detail, **_) -> None:
        self.console.print(f"  {candidate}: [yellow]not trained[/]: {escape(detail)}")

    def on_budget_exhausted(self, usage, **_) -> None:
        self.console.print(f"[yellow]budget reached[/] ({usage}): stopping cleanly")

    def on_baseline_trained(self, baseline, fitness, error=None, **_) -> None:
        self._stop_progress()
        self.console.print(f"  baseline {baseline}: fitness [bold]{_fitness(fitness)}[/]"
                           + (f" [red]failed[/]: {escape(error)}" if error else ""))

    def on_job_finished(self, module, node, queued_s, ran_s, attempts, **_) -> None:
        tally = self.nodes.setdefault(node, [0, 0.0, 0.0])
        tally[0], tally[1], tally[2] = tally[0] + 1, tally[1] + ran_s, tally[2] + queued_s
        if module.endswith(".train") or attempts > 1:
            retried = f", attempt {attempts}" if attempts > 1 else ""
            self.console.print(f"  node {node}: {module.rsplit('.', 1)[-1]} ran {ran_s:.1f} s "
                               f"(queued {queued_s:.1f} s{retried}); this node: {tally[0]} jobs", highlight=False)

    def on_job_lost(self, module, error, retry, **_) -> None:
        then = "running it again elsewhere" if retry else "no retries left"
        self.console.print(f"  [yellow]job lost[/] ({module.rsplit('.', 1)[-1]}): {escape(error)}; {then}",
                           highlight=False)

    def on_tracking_failed(self, tracker, error, **_) -> None:
        self.console.print(f"[yellow]tracking ({escape(tracker)}):[/] {escape(error)}")

    def on_new_best(self, candidate, fitness, designer=None, **_) -> None:
        self.console.print(f"  [green]new best[/] {candidate}: {_fitness(fitness)}"
                           + (f" ({designer} designer)" if self.mixed and designer else ""))

    def on_target_reached(self, fitness, **_) -> None:
        self.console.print(f"[green]target reached[/] ({_fitness(fitness)}): stopping early")

    def summary(self, result) -> None:
        self._stop_progress()
        table = Table(title=f"run {result.store.run_id}")
        table.add_column("iteration", justify="right")
        table.add_column("designed", justify="right")
        table.add_column("critic passed", justify="right")
        table.add_column("trained", justify="right")  # critic passes that were not duplicates
        table.add_column("best candidate")
        table.add_column("best fitness", justify="right")
        for it in result.iterations:
            passed = self.critic_passed.get(it.iteration)
            table.add_row(str(it.iteration), str(it.candidates), "-" if passed is None else str(len(passed)),
                          str(it.accepted), it.best_candidate or "-", _fitness(it.best_fitness))
        for name, fitness in result.baselines.items():
            table.add_row("baseline", "", "", "", name, _fitness(fitness))
        self.console.print(table)
        if result.budget is not None:
            self.console.print(f"LLM usage: {result.budget.calls} calls, {result.budget.tokens} tokens, "
                               f"${result.budget.cost_usd:.4f}; stopped: {result.stop_reason}")
        if result.distance_to_human is not None:
            self.console.print(f"distance of the best reward to the human reward (EPIC-style, 0 = same reward "
                               f"up to scale and shaping): {result.distance_to_human:.3f}")
        if result.filters:
            saved = ", ".join(f"{name} {count}" for name, count in sorted(result.filters.items()))
            self.console.print(f"trainings saved by filters: {saved}")
        if self.nodes:
            self.console.print("jobs per node: " + ", ".join(
                f"{node} {int(jobs)} ({ran:.0f} s run, {queued:.0f} s queued)"
                for node, (jobs, ran, queued) in sorted(self.nodes.items())))
        if result.island_bests:
            self.console.print("best per island: " + ", ".join(
                f"{island}: {record.id} ({_fitness(record.fitness)})" for island, record in result.island_bests.items()))
        if result.best:
            designer = f", designer: {result.best.designer}" if result.best.designer else ""
            origin = f"; eureka's structural edit of {result.best.parent_id}: {escape(result.best.edit)}" \
                if result.best.edit else ""
            self.console.print(f"best reward: {result.store.path('best', 'reward.py')} "
                               f"(fitness {_fitness(result.best.fitness)}{designer}{origin})")
        else:
            self.console.print("[red]no candidate was trained successfully[/]")
