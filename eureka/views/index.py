"""The runs index: an embedded SQLite table of every run, a view of the runs directory.

The files of a run directory are the source of truth (read by `eureka.rundir.reader`); the
index (``<runs_dir>/index.sqlite`` by default) is a cache of them for listing and filtering,
rebuilt at any time by `reindex`.

- `RunIndex(path).update_from_run_dir(run_dir)` upserts one run and its candidates;
  `refresh(runs_dir)` updates the runs whose files changed since they were indexed;
  `reindex(runs_dir)` rebuilds everything. Neither stops at a corrupted run directory:
  it is reported (by name, with the reason) and the others are indexed.

Example::

    with RunIndex(default_index_path(Path("runs"))) as index:
        index.reindex(Path("runs"))
        for run in index.runs(task="cartpole", status="finished"):
            print(run.run_id, run.best_fitness)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from eureka.rundir.reader import RunInfo, finite_number, read_run
from eureka.rundir.store import RunStoreError

INDEX_FILE = "index.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id       TEXT PRIMARY KEY,
    task         TEXT NOT NULL,
    model        TEXT,
    status       TEXT,
    direction    TEXT NOT NULL DEFAULT 'maximize',
    best_candidate TEXT,
    best_fitness REAL,
    target       REAL,
    iterations   INTEGER NOT NULL DEFAULT 0,
    candidates   INTEGER NOT NULL DEFAULT 0,
    trained      INTEGER NOT NULL DEFAULT 0,
    cost_usd     REAL NOT NULL DEFAULT 0,
    tokens       INTEGER NOT NULL DEFAULT 0,
    started      TEXT,
    path         TEXT NOT NULL,
    signature    TEXT NOT NULL,
    problems     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_task ON runs(task);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS candidates (
    run_id       TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    candidate_id TEXT NOT NULL,
    iteration    INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    parent_id    TEXT,
    status       TEXT NOT NULL,
    fitness      REAL,
    components   TEXT NOT NULL DEFAULT '[]',
    problems     TEXT NOT NULL DEFAULT '[]',
    path         TEXT NOT NULL,
    PRIMARY KEY (run_id, candidate_id)
);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates(status);
"""


def _signature(run_dir: Path) -> str:
    """Changes whenever the run writes anything (run.json is rewritten, events are appended)."""
    parts = []
    for name in ("run.json", "events.jsonl"):
        try:
            stat = (run_dir / name).stat()
            parts.append(f"{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append("-")
    return "/".join(parts)


# -- the index -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRow:
    run_id: str
    task: str
    model: str | None
    status: str | None
    direction: str
    best_candidate: str | None
    best_fitness: float | None
    target: float | None
    iterations: int
    candidates: int
    trained: int
    cost_usd: float
    tokens: int
    started: str | None  # ISO 8601, UTC
    path: str
    problems: list[str]


@dataclass(frozen=True)
class CandidateRow:
    run_id: str
    candidate_id: str
    iteration: int
    index: int
    parent_id: str | None
    status: str
    fitness: float | None
    components: list[str]
    problems: list[str]
    path: str


@dataclass
class IndexReport:
    """What a reindex or refresh did: runs indexed, runs dropped, and what could not be read."""

    indexed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)  # "<path>: <reason>", one per problem


def default_index_path(runs_dir: Path) -> Path:
    return Path(runs_dir) / INDEX_FILE


class RunIndex:
    """The SQLite index of a runs directory. Safe to share between processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30.0)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise RunStoreError(f"{self.path}: not a usable runs index ({exc}); delete it and run "
                                "`eureka runs --reindex`") from None

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        with self.conn:
            if version != SCHEMA_VERSION:
                # The index is a cache of the files: an old layout is dropped, not converted.
                self.conn.execute("DROP TABLE IF EXISTS candidates")
                self.conn.execute("DROP TABLE IF EXISTS runs")
            self.conn.executescript(_SCHEMA)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "RunIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------
    def update_from_run_dir(self, run_dir: Path) -> RunInfo:
        """Read one run directory and upsert it and its candidates.

        Raises RunStoreError when run.json is missing or corrupted (the index is unchanged).
        Unreadable candidate files are skipped and listed in the returned ``RunInfo.problems``.
        """
        run_dir = Path(run_dir)
        signature = _signature(run_dir)
        info = read_run(run_dir)
        with self.conn:
            self._upsert(info, signature)
        return info

    def _upsert(self, info: RunInfo, signature: str) -> None:
        best = info.best_candidate()
        self.conn.execute("DELETE FROM candidates WHERE run_id = ?", (info.run_id,))
        self.conn.execute(
            "INSERT OR REPLACE INTO runs (run_id, task, model, status, direction, best_candidate, best_fitness, "
            "target, iterations, candidates, trained, cost_usd, tokens, started, path, signature, problems) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (info.run_id, info.task_name, info.model, info.status, info.direction,
             best.id if best else None, best.fitness if best else None, finite_number(info.target),
             len(info.iterations), len(info.candidates),
             sum(1 for c in info.candidates if c.status == "trained"), info.cost_usd, info.tokens,
             info.started.isoformat(timespec="seconds") if info.started else None,
             str(info.directory), signature, json.dumps(info.problems)))
        self.conn.executemany(
            "INSERT INTO candidates (run_id, candidate_id, iteration, idx, parent_id, status, fitness, "
            "components, problems, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(info.run_id, c.id, c.iteration, c.index, c.parent_id, c.status, c.fitness,
              json.dumps(c.components), json.dumps(c.problems), str(c.path)) for c in info.candidates])

    def reindex(self, runs_dir: Path) -> IndexReport:
        """Rebuild the index from every run directory under `runs_dir`."""
        report = IndexReport()
        with self.conn:
            self.conn.execute("DELETE FROM candidates")
            self.conn.execute("DELETE FROM runs")
            for run_dir in _run_dirs(runs_dir):
                self._index_one(run_dir, report)
        return report

    def refresh(self, runs_dir: Path) -> IndexReport:
        """Index the runs under `runs_dir` that are new or changed; drop the ones that are gone."""
        report = IndexReport()
        known = {row["path"]: (row["run_id"], row["signature"])
                 for row in self.conn.execute("SELECT run_id, path, signature FROM runs")}
        seen = set()
        with self.conn:
            for run_dir in _run_dirs(runs_dir):
                key = str(run_dir.resolve())
                seen.add(key)
                if key in known and known[key][1] == _signature(run_dir):
                    report.unchanged += 1
                    continue
                self._index_one(run_dir, report)
            root = str(Path(runs_dir).resolve())
            for path, (run_id, _) in known.items():
                if path not in seen and Path(path).parent == Path(root):
                    self.conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
                    report.removed.append(run_id)
        return report

    def _index_one(self, run_dir: Path, report: IndexReport) -> None:
        signature = _signature(run_dir)
        try:
            info = read_run(run_dir)
        except RunStoreError as exc:
            report.problems.append(str(exc))
            self.conn.execute("DELETE FROM runs WHERE path = ?", (str(run_dir.resolve()),))
            return
        self._upsert(info, signature)
        report.indexed.append(info.run_id)
        report.problems.extend(info.problems)

    # -- reading ---------------------------------------------------------------------
    def runs(self, task: str | None = None, status: str | None = None, model: str | None = None,
             limit: int | None = None) -> list[RunRow]:
        """Runs matching every given filter, best first (by each run's own fitness direction),
        runs without a best last, newer first among equals."""
        where, args = _filters(task=task, status=status, model=model)
        sql = ("SELECT * FROM runs" + where + " ORDER BY best_fitness IS NULL, "
               "CASE direction WHEN 'minimize' THEN -best_fitness ELSE best_fitness END DESC, started DESC")
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_run_row(row) for row in self.conn.execute(sql, args)]

    def run(self, run_id: str) -> RunRow | None:
        row = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_row(row) if row else None

    def candidates(self, run_id: str | None = None, status: str | None = None) -> list[CandidateRow]:
        where, args = _filters(run_id=run_id, status=status)
        sql = "SELECT * FROM candidates" + where + " ORDER BY run_id, iteration, idx"
        return [_candidate_row(row) for row in self.conn.execute(sql, args)]


def _filters(**values: Any) -> tuple[str, list[Any]]:
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{k} = ?" for k in given), list(given.values())


def _run_row(row: sqlite3.Row) -> RunRow:
    data = dict(row)
    data.pop("signature")
    data["problems"] = json.loads(data["problems"])
    return RunRow(**data)


def _candidate_row(row: sqlite3.Row) -> CandidateRow:
    data = dict(row)
    data["index"] = data.pop("idx")
    data["components"] = json.loads(data["components"])
    data["problems"] = json.loads(data["problems"])
    return CandidateRow(**data)


def _run_dirs(runs_dir: Path) -> Iterator[Path]:
    """Subdirectories that look like runs: they hold run.json (or, torn, events or iterations)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RunStoreError(f"{runs_dir}: no such runs directory")
    for path in sorted(runs_dir.iterdir()):
        if path.is_dir() and not path.is_symlink() and (
                (path / "run.json").exists() or (path / "events.jsonl").exists() or any(path.glob("iter_*"))):
            yield path


def update_index(run_dir: Path, index_path: Path | None = None) -> list[str]:
    """Index one run into ``<runs_dir>/index.sqlite`` (or `index_path`); never raises.

    For the search loop: returns the problems met (an unreadable file, a locked or broken
    index) as sentences, so a run never fails because its index could not be updated.
    """
    run_dir = Path(run_dir)
    try:
        with RunIndex(index_path or default_index_path(run_dir.parent)) as index:
            return index.update_from_run_dir(run_dir).problems
    except (RunStoreError, sqlite3.Error, OSError) as exc:
        return [f"runs index not updated: {exc}"]


def runs_table(rows: list[RunRow], title: str | None = None, width: int = 120):
    """A rich Table of runs, in the given order, for a terminal `width` columns wide.

    The run id carries the start time. The model column needs width >= 100; the cost column
    is left out when every run was free (local or scripted models)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    def fitness(value: float | None) -> str:
        if value is None:
            return "-"
        return str(int(value)) if value.is_integer() and abs(value) < 1e7 else f"{value:.4g}"

    with_cost = any(row.cost_usd for row in rows)
    with_model = width >= 100
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("run", no_wrap=True)
    table.add_column("task", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("best", no_wrap=True)
    table.add_column("fitness", justify="right", no_wrap=True)
    table.add_column("trained", justify="right", no_wrap=True)
    if with_cost:
        table.add_column("cost $", justify="right", no_wrap=True)
    if with_model:
        table.add_column("model", overflow="ellipsis", no_wrap=True)
    colours = {"finished": "green", "running": "cyan", "failed": "red", "stopped": "yellow"}
    for row in rows:  # Text cells: names from files are never read as rich markup
        status = row.status or "?"
        cells = [Text(row.run_id), Text(row.task), Text(status, style=colours.get(status, "")),
                 Text(row.best_candidate or "-"), fitness(row.best_fitness), f"{row.trained}/{row.candidates}"]
        if with_cost:
            cells.append(f"{row.cost_usd:.4f}")
        if with_model:
            cells.append(Text(row.model or "-"))
        table.add_row(*cells)
    return table
