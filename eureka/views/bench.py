"""What `eureka bench` shows: a rich table of the tasks and the summary, and one PNG per task
of fitness over training for the best, human and sparse rewards (matplotlib, the bench extra)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from eureka.bench import REWARDS, BenchResult, RewardResult

COLOURS = {"best": "tab:blue", "human": "tab:green", "sparse": "tab:grey"}


def _fitness(reward: RewardResult | None) -> str:
    if reward is None or reward.mean is None:
        return "-"
    return f"{reward.mean:.3g} ± {reward.std or 0:.2g}"


def bench_table(bench: BenchResult) -> Table:
    table = Table(title=f"eureka bench: {bench.model or 'default model'}, {bench.seeds} fresh seeds, "
                        f"{bench.budget} budget")
    for column in ("task", "backend", "fitness", "best", "human", "sparse", "score", "tokens", "cost $",
                   "env steps", "wall s"):
        table.add_column(column, justify="left" if column in ("task", "backend", "fitness") else "right")
    for task in bench.tasks:
        score = "-" if task.score is None else f"{task.score:.2f} ± {task.score_spread or 0:.2f}"
        steps = task.search.env_steps + sum(r.env_steps for r in task.rewards.values())
        table.add_row(task.task, task.backend, task.metric, *(_fitness(task.rewards.get(n)) for n in REWARDS),
                      score, str(task.search.tokens), f"{task.search.cost_usd:.4f}", f"{steps:,}",
                      f"{task.wall_s:.0f}")
    table.caption = _summary_text(bench)
    return table


def _summary_text(bench: BenchResult) -> str:
    summary = bench.summary
    share = "-" if summary.share_at_least_human is None else f"{summary.share_at_least_human:.0%}"
    mean = "-" if summary.mean_score is None else f"{summary.mean_score:.2f}"
    median = "-" if summary.median_score is None else f"{summary.median_score:.2f}"
    return (f"score = (F(best) - F(sparse)) / |F(human) - F(sparse)|; {summary.scored} of "
            f"{summary.tasks} tasks scored; score >= 1 on {share}; mean score {mean}, median {median}")


def markdown_table(bench: BenchResult) -> str:
    """The table as Markdown (bench.md), for a README or an issue: fitness per reward as mean ±
    std over the fresh seeds, then each seed's score."""
    lines = ["| task | backend | fitness | best | human | sparse | score | score per seed | wall |",
             "|---|---|---|---|---|---|---|---|---|"]
    for task in bench.tasks:
        score = "n/a (human = sparse)" if task.score is None else f"{task.score:.2f} ± {task.score_spread or 0:.2f}"
        per_seed = " / ".join("-" if v is None else f"{v:.2f}" for v in task.score_per_seed)
        lines.append(f"| {task.task} | {task.backend} | {task.metric} | "
                     + " | ".join(_fitness(task.rewards.get(n)) for n in REWARDS)
                     + f" | {score} | {per_seed} | {task.wall_s / 60:.0f} min |")
    return "\n".join(lines) + f"\n\n{_summary_text(bench)}\n"


def print_bench(bench: BenchResult, console: Console | None = None) -> None:
    (console or Console()).print(bench_table(bench))


def write_plots(bench: BenchResult, out: Path) -> list[Path]:
    """`<task>.png` per task; none (and no error) where matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for task in bench.tasks:
        figure, axes = plt.subplots(figsize=(6, 4))
        for name in REWARDS:
            reward = task.rewards.get(name)
            curve = reward.curve if reward else None
            points = [(s, f) for s, f in zip(curve.steps, curve.fitness) if f is not None] if curve else []
            if points:
                steps, values = zip(*points)
                label = f"{name} (final {reward.mean:.3g})" if reward.mean is not None else name
                axes.plot(steps, values, marker="o", color=COLOURS[name], label=label)
        axes.set(title=f"{task.task}: {task.metric} over training (mean of {len(task.seeds)} seeds)",
                 xlabel="env steps per seed", ylabel=task.metric)
        axes.legend()
        figure.tight_layout()
        path = out / f"{task.task}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
