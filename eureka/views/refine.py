"""Refinement sessions: a person's feedback steers the next generations of a run.

A person looks at the current elites (the best trained candidates: fitness, reward
components, rollout videos) and gives one round of feedback, then the next generation runs
(`eureka.app.continue_run`) and they look again. A round is one of:

- **text**: free text ("it drifts to the left"), quoted in the next reflection prompt;
- **ranking**: candidate ids from best to worst; the first becomes the parent of the next
  generation, and the ranking is written out as feedback text (prompts/feedback.j2);
- **reward**: a reward module the person wrote. It becomes a candidate of a generation of its
  own (checked by the critic, trained in the sandbox like any candidate) and, once trained,
  the parent of the next generation.

A text may go with a ranking or a reward as a comment. The feedback file of
`eureka refine RUN --feedback FILE` (YAML or JSON) lists the rounds, in order::

    rounds:                          # or just the list
      - text: it drifts to the left
      - ranking: [i1-c2, i1-c0]      # best first; candidate ids of trained candidates
        text: the second one wobbles # optional comment
        iterations: 2                # generations to run after this round (default 1)
      - reward_file: my_reward.py    # relative to the feedback file
        text: I dropped the centring term

Where feedback is kept: ``feedback/NNNN.json`` (the raw round, the elites shown, the parent,
the text the prompt got, the generation it led to or why none ran), run.json "feedback"
(`Search.add_feedback`), and the lineage (the next generation's parent_id; a person's
reward is a candidate with a ``human.json``). Feedback is always data: quoted in the prompt,
escaped on screen.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from eureka.loop.search import Listener
from eureka.rundir.store import RunStoreError, atomic_write_json, read_json

FEEDBACK_DIR = "feedback"
SHOWN_ELITES = 4
MAX_FEEDBACK_CHARS = 4000
MAX_REWARD_BYTES = 64_000
RoundKind = Literal["text", "ranking", "reward"]
_CANDIDATE_DIR = re.compile(r"^iter_(\d+)/cand_(\d+)$")


class FeedbackError(ValueError):
    """Feedback that cannot be used as given (bad file, unknown candidate, ...). For the user."""


class RefineBusy(RuntimeError):
    """Another refinement of the same run is running (one at a time per run)."""


class FeedbackRound(BaseModel):
    """One round of human feedback (see the module docstring for the file format)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="free-text feedback, or a comment on a ranking/reward")
    ranking: list[str] | None = Field(default=None, description="candidate ids, best first")
    reward_file: Path | None = Field(default=None, description="a reward module the person wrote")
    reward_code: str | None = Field(default=None, description="its code (read from reward_file, or from the web)")
    iterations: int = Field(default=1, ge=1, le=20, description="generations to run after this round")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if len(value) > MAX_FEEDBACK_CHARS:
            raise ValueError(f"feedback text is {len(value)} characters; at most {MAX_FEEDBACK_CHARS}")
        return value or None

    @field_validator("ranking")
    @classmethod
    def _ranking(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        value = [str(v).strip() for v in value]
        if not value:
            raise ValueError("a ranking needs at least one candidate id")
        if len(set(value)) != len(value):
            raise ValueError(f"a candidate appears twice in the ranking {value}")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "FeedbackRound":
        if self.ranking is not None and (self.reward_file is not None or self.reward_code is not None):
            raise ValueError("a round is a ranking or a reward, not both")
        if self.reward_code is not None and len(self.reward_code.encode()) > MAX_REWARD_BYTES:
            raise ValueError(f"the reward code is larger than {MAX_REWARD_BYTES} bytes")
        if self.reward_code is not None and not self.reward_code.strip():
            raise ValueError("the reward code is empty")
        if self.text is None and self.ranking is None and self.reward_file is None and self.reward_code is None:
            raise ValueError("a round needs text, a ranking or a reward_file")
        return self

    @property
    def kind(self) -> RoundKind:
        if self.ranking is not None:
            return "ranking"
        if self.reward_code is not None or self.reward_file is not None:
            return "reward"
        return "text"


def load_feedback_file(path: Path) -> list[FeedbackRound]:
    """The rounds of a feedback file; reward files are read now, so a bad one fails before any work."""
    if not path.is_file():
        raise FeedbackError(f"{path}: feedback file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FeedbackError(f"{path}: not valid YAML or JSON: {exc}") from None
    if isinstance(data, dict) and set(data) == {"rounds"}:
        data = data["rounds"]
    if not isinstance(data, list) or not data:
        raise FeedbackError(f"{path}: expected a non-empty list of rounds (or a mapping with 'rounds')")
    rounds = []
    for number, item in enumerate(data, 1):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise FeedbackError(f"{path}: round {number}: expected a mapping, got {type(item).__name__}")
        if "reward_code" in item:
            raise FeedbackError(f"{path}: round {number}: give reward_file (a path), not reward_code")
        try:
            round_ = FeedbackRound.model_validate(item)
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'round'}: {e['msg']}" for e in exc.errors())
            raise FeedbackError(f"{path}: round {number}: {reasons}") from None
        if round_.reward_file is not None:
            source = round_.reward_file if round_.reward_file.is_absolute() else path.parent / round_.reward_file
            if not source.is_file():
                raise FeedbackError(f"{path}: round {number}: reward_file {source} not found")
            if source.stat().st_size > MAX_REWARD_BYTES:
                raise FeedbackError(f"{path}: round {number}: reward_file {source} is over {MAX_REWARD_BYTES} bytes")
            round_ = round_.model_copy(update={"reward_file": source, "reward_code": source.read_text()})
        rounds.append(round_)
    return rounds


# -- what a run holds ------------------------------------------------------------------
@dataclass
class CandidateView:
    """A candidate as people see it: record, code, training curves and rollout video."""

    id: str
    iteration: int
    index: int
    parent_id: str | None
    directory: str  # relative to the run directory
    status: str
    fitness: float | None
    components: list[str]
    problems: list[str]
    code: str | None
    reflection: str | None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # first seed's
    video: str | None = None  # relative to the run directory
    poster: str | None = None
    video_error: str | None = None
    human: bool = False

    @property
    def trained(self) -> bool:
        return self.status == "trained" and self.fitness is not None and math.isfinite(self.fitness)

    @property
    def fitness_text(self) -> str:
        return "-" if self.fitness is None else f"{self.fitness:.4g}"

    def component_summary(self) -> str:
        """Each component's mean per step at the first and last checkpoint: 'upright 0.82→0.98'."""
        points = [c.get("components") or {} for c in self.checkpoints]
        if not points:
            return ", ".join(self.components)
        first, last = points[0], points[-1]
        return ", ".join(f"{name} {_short(first.get(name))}→{_short(last.get(name))}" for name in last) or "-"


def _short(value: Any) -> str:
    return "?" if not isinstance(value, (int, float)) else f"{value:.3g}"


def load_candidates(run_dir: Path) -> list[CandidateView]:
    """Every candidate with a candidate.json, in (iteration, index) order; unreadable ones skipped."""
    out = []
    for path in run_dir.glob("iter_*/cand_*/candidate.json"):
        directory = path.parent.relative_to(run_dir).as_posix()
        if not _CANDIDATE_DIR.match(directory):
            continue
        try:
            record = read_json(path)
            metrics = read_json(path.parent / "metrics.json") if (path.parent / "metrics.json").is_file() else {}
        except RunStoreError:
            continue
        members = ((metrics.get("outcome") or {}).get("members")) or []
        ok = [m for m in members if m.get("status") == "ok"] or members
        code, problems = _checked_code(path.parent, record.get("reward_sha256"))
        view = CandidateView(
            id=str(record.get("id")), iteration=int(record.get("iteration", 0)), index=int(record.get("index", 0)),
            parent_id=record.get("parent_id"), directory=directory, status=str(record.get("status")),
            fitness=record.get("fitness"), components=list(record.get("components") or []),
            problems=[str(p) for p in record.get("problems") or []] + problems,
            code=code,
            reflection=metrics.get("reflection"), checkpoints=list(ok[0].get("checkpoints") or []) if ok else [],
            human=(path.parent / "human.json").is_file())
        _attach_video(view, run_dir)
        out.append(view)
    return sorted(out, key=lambda c: (c.iteration, c.index))


def _checked_code(folder: Path, expected_sha256: Any) -> tuple[str | None, list[str]]:
    """reward.py as the run wrote it (eureka.rundir.integrity), else no code and why."""
    from eureka.rundir.integrity import RewardMismatch, read_reward

    if not (folder / "reward.py").exists() and not (folder / "reward.py").is_symlink():
        return None, []
    try:
        return read_reward(folder, expected_sha256 if isinstance(expected_sha256, str) else None), []
    except RewardMismatch as exc:
        return None, [f"reward.py not shown: {exc}"]


def _attach_video(view: CandidateView, run_dir: Path) -> None:
    folder = run_dir / view.directory
    for meta in sorted(folder.glob("rollout_seed*.json")):
        try:
            info = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if info.get("ok") and info.get("video") and (folder / str(info["video"])).is_file():
            view.video = f"{view.directory}/{info['video']}"
            if info.get("poster") and (folder / str(info["poster"])).is_file():
                view.poster = f"{view.directory}/{info['poster']}"
            return
        view.video_error = str(info.get("error") or "no video")


def rank_elites(candidates: list[CandidateView], direction: str = "maximize",
                count: int = SHOWN_ELITES) -> list[CandidateView]:
    """The `count` best trained candidates (newer first among equals)."""
    trained = [c for c in candidates if c.trained]
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(trained, key=lambda c: (sign * float(c.fitness or 0.0), -c.iteration, c.index))[:count]


def feedback_records(run_dir: Path) -> list[dict[str, Any]]:
    """The feedback/NNNN.json records of a run, in order."""
    records = []
    for path in sorted((run_dir / FEEDBACK_DIR).glob("[0-9][0-9][0-9][0-9].json")):
        try:
            records.append(read_json(path))
        except RunStoreError:
            continue
    return records


# -- a round ---------------------------------------------------------------------------
@dataclass
class RoundResult:
    number: int
    kind: RoundKind
    status: Literal["finished", "rejected"]
    record: Path
    parent: str | None
    problems: list[str] = field(default_factory=list)  # why a person's reward was not used
    human_candidate: str | None = None
    new_candidates: list[str] = field(default_factory=list)
    best: str | None = None
    best_fitness: float | None = None


class RefineSession:
    """Feedback rounds on one run directory; each round runs the next generation(s).

    Args:
        run_dir: the run to refine (finished or stopped).
        sandbox: the sandbox for critic and training (default: the run's own setting).
        listener: receives the search events (e.g. `eureka.views.console.RunConsole`).
    """

    def __init__(self, run_dir: Path, sandbox: str | None = None, listener: Listener | None = None,
                 shown: int = SHOWN_ELITES) -> None:
        self.run_dir = Path(run_dir)
        self.sandbox = sandbox
        self.listener = listener
        self.shown = shown
        self.run_json()  # fail early on a missing or broken run

    def run_json(self) -> dict[str, Any]:
        from eureka.rundir.store import RunStore

        _, run = RunStore.open(self.run_dir)
        return run

    @property
    def direction(self) -> str:
        return str(((self.run_json().get("task") or {}).get("fitness") or {}).get("direction", "maximize"))

    def candidates(self) -> list[CandidateView]:
        return load_candidates(self.run_dir)

    def elites(self) -> list[CandidateView]:
        return rank_elites(self.candidates(), self.direction, self.shown)

    def check(self, feedback: FeedbackRound,
              candidates: list[CandidateView] | None = None) -> dict[str, CandidateView]:
        """Raise FeedbackError if the round cannot apply to this run; returns the trained candidates."""
        trained = {c.id: c for c in (self.candidates() if candidates is None else candidates) if c.trained}
        if not trained:
            raise FeedbackError(f"{self.run_dir}: no candidate was trained yet; there is nothing to give feedback on")
        if feedback.ranking is not None:
            unknown = [cid for cid in feedback.ranking if cid not in trained]
            if unknown:
                raise FeedbackError(f"not trained candidates of this run: {', '.join(unknown)} "
                                    f"(trained: {', '.join(sorted(trained))})")
        return trained

    def apply(self, feedback: FeedbackRound, source: str = "terminal") -> RoundResult:
        """Record one round, then run the generation(s) it asks for. Raises FeedbackError, RefineBusy."""
        with self._exclusive():
            return self._apply(feedback, source)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        folder = self.run_dir / FEEDBACK_DIR
        folder.mkdir(exist_ok=True)
        with open(folder / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RefineBusy(f"{self.run_dir}: another refinement of this run is running") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _apply(self, feedback: FeedbackRound, source: str) -> RoundResult:
        from eureka.app import continue_run

        run = self.run_json()
        candidates = self.candidates()
        trained = self.check(feedback, candidates)
        shown = rank_elites(candidates, self.direction, self.shown)
        number = len(feedback_records(self.run_dir)) + 1
        record_path = self.run_dir / FEEDBACK_DIR / f"{number:04d}.json"
        before = len(run.get("iterations") or [])
        best = (run.get("best") or {}).get("candidate")
        record: dict[str, Any] = {
            "round": number, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": source, "kind": feedback.kind,
            "input": feedback.model_dump(mode="json", exclude_none=True),
            "shown": [{"candidate": c.id, "fitness": c.fitness} for c in shown],
            "before_iteration": before, "parent": feedback.ranking[0] if feedback.ranking else best,
            "status": "running",
        }
        atomic_write_json(record_path, record)
        result = RoundResult(number, feedback.kind, "finished", record_path, record["parent"])
        try:
            if feedback.kind == "reward":
                human = self._person_reward(feedback, number)
                result.human_candidate = record["human_candidate"] = human.id
                if not human.trained:
                    result.status, result.problems = "rejected", human.problems or ["training failed"]
                    record.update(status="rejected", problems=result.problems)
                    atomic_write_json(record_path, record)
                    return result
                result.parent = record["parent"] = human.id
                prompt_feedback = [_render("feedback.j2", kind="reward", ranked=[], candidate=human,
                                           comment=feedback.text or "")]
            elif feedback.kind == "ranking":
                ranked = [trained[cid] for cid in feedback.ranking or []]
                prompt_feedback = [_render("feedback.j2", kind="ranking", ranked=ranked, candidate=None,
                                           comment=feedback.text or "")]
            else:
                prompt_feedback = [feedback.text or ""]
            record["prompt_feedback"] = prompt_feedback
            atomic_write_json(record_path, record)
            first_new = len(self.run_json().get("iterations") or [])
            outcome = continue_run(self.run_dir, prompt_feedback, iterations=feedback.iterations,
                                   parent=result.parent if feedback.kind != "text" else None,
                                   kind=feedback.kind, listener=self.listener, sandbox=self.sandbox)
        except BaseException as exc:
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            atomic_write_json(record_path, record)
            raise
        new = [c for c in self.candidates() if c.iteration >= first_new]
        result.new_candidates = [c.id for c in new]
        result.best = outcome.best.id if outcome.best else None
        result.best_fitness = outcome.best.fitness if outcome.best else None
        record.update(status="finished", iterations=sorted({c.iteration for c in new}),
                      children=result.new_candidates, best=result.best, best_fitness=result.best_fitness)
        atomic_write_json(record_path, record)
        return result

    def _person_reward(self, feedback: FeedbackRound, number: int) -> CandidateView:
        """A person's reward as a generation of its own: critic, sandboxed training, lineage.

        The critic's static checks and sandboxed probe apply as to any candidate; the optional
        LLM review and the novelty filter do not (the person chose this reward on purpose).
        """
        from eureka.app import open_run

        code = (feedback.reward_code or "").replace("\r\n", "\n")
        search = open_run(self.run_dir, self.listener, self.sandbox)
        status = str(search.store.read_json("run.json").get("status", "finished"))
        iteration = len(search.iterations)
        longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
        reply = _render("human_reward.j2", round=number, code=code, fence="`" * max(3, longest + 1))
        search.store.write_json(f"{search.store.candidate_dir(iteration, 0)}/human.json", {
            "feedback_round": number, "feedback": f"{FEEDBACK_DIR}/{number:04d}.json",
            "source": str(feedback.reward_file) if feedback.reward_file else "web"})
        record = search.person_generation(code, reply)
        candidate_id = record.id
        search.write_run_json(status)
        search.index()
        (view,) = [c for c in self.candidates() if c.id == candidate_id]
        return view


def _render(template: str, **values: Any) -> str:
    from eureka.design.prompts import render

    return render(template, **values).strip()


# -- the terminal session --------------------------------------------------------------
def parse_ranking(answer: str, shown: list[CandidateView]) -> list[str]:
    """'2 1 3', '2,1,3' or candidate ids, best first, into candidate ids."""
    tokens = [t for t in re.split(r"[\s,>]+", answer.strip()) if t]
    if not tokens:
        raise FeedbackError("an empty ranking")
    ids = []
    for token in tokens:
        if token.isdigit():
            position = int(token)
            if not 1 <= position <= len(shown):
                raise FeedbackError(f"{token}: choose numbers between 1 and {len(shown)}")
            ids.append(shown[position - 1].id)
        else:
            ids.append(token)
    return ids


class TerminalRefine:
    """The interactive session: show the elites, take a round, run it, repeat until 'q'."""

    def __init__(self, session: RefineSession, console: Any, ask: Any = None) -> None:
        from rich.prompt import Prompt

        self.session = session
        self.console = console
        self.ask = ask or (lambda prompt, **kw: Prompt.ask(prompt, console=console, **kw))

    def show_elites(self) -> list[CandidateView]:
        from rich.markup import escape
        from rich.table import Table

        shown = self.session.elites()
        table = Table(title=f"elites of {self.session.run_dir}", show_lines=False)
        for name, justify in (("#", "right"), ("candidate", "left"), ("fitness", "right"),
                              ("components (first→last checkpoint)", "left"), ("video (in the run dir)", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        for number, c in enumerate(shown, 1):
            video = c.video or f"none ({c.video_error or 'not recorded'})"
            name = c.id + (" (yours)" if c.human else "") + (f" ← {c.parent_id}" if c.parent_id else "")
            table.add_row(str(number), escape(name), c.fitness_text, escape(c.component_summary()), escape(video))
        self.console.print(table)
        return shown

    def read_round(self, shown: list[CandidateView]) -> FeedbackRound | None:
        """One round from the person, or None to stop."""
        while True:
            choice = self.ask(_escape("[t]ext feedback, [r]ank the candidates, [e]dit a reward file, [q]uit"),
                              choices=["t", "r", "e", "q"], default="q")
            try:
                if choice == "q":
                    return None
                if choice == "t":
                    text = self.ask("your feedback (one line)")
                    return FeedbackRound(text=text)
                if choice == "r":
                    example = " ".join(str(i) for i in range(len(shown), 0, -1))
                    ranking = parse_ranking(self.ask(f"rank best to worst by number (e.g. {example})"), shown)
                    comment = self.ask("a comment (optional)", default="")
                    return FeedbackRound(ranking=ranking, text=comment or None)
                if choice == "e":
                    draft = self._draft(shown)
                    path = Path(self.ask(_escape(f"edit the draft {draft} (or give another file), then press Enter"),
                                         default=str(draft)))
                    if not path.is_file():
                        raise FeedbackError(f"{path}: no such file")
                    comment = self.ask("a comment (optional)", default="")
                    return FeedbackRound(reward_file=path, reward_code=path.read_text(), text=comment or None)
            except (FeedbackError, ValidationError, OSError) as exc:
                self.console.print(f"[red]{_escape(str(exc))}[/]")

    def _draft(self, shown: list[CandidateView]) -> Path:
        folder = self.session.run_dir / FEEDBACK_DIR
        folder.mkdir(exist_ok=True)
        draft = folder / f"draft_{int(time.time())}.py"
        code = shown[0].code if shown and shown[0].code else ""
        draft.write_text(code)
        editor = os.environ.get("EDITOR")
        if editor:
            import shlex
            import subprocess

            subprocess.run([*shlex.split(editor), str(draft)], check=False)
        return draft

    def loop(self) -> int:
        """Rounds until the person quits; returns the number of rounds run."""
        rounds = 0
        while True:
            shown = self.show_elites()
            feedback = self.read_round(shown)
            if feedback is None:
                return rounds
            self.report(self.session.apply(feedback, source="terminal"))
            rounds += 1

    def report(self, result: RoundResult) -> None:
        if result.status == "rejected":
            self.console.print(f"[red]feedback round {result.number}: your reward was not used:[/] "
                               + _escape("; ".join(result.problems)))
            return
        self.console.print(f"feedback round {result.number} ({result.kind}): new candidates "
                           f"{', '.join(result.new_candidates) or 'none'}; best {result.best or '-'} "
                           f"({'-' if result.best_fitness is None else f'{result.best_fitness:.4g}'}); "
                           f"recorded in {result.record}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
