"""Free-form code from the embedded model, as a mixed run asks for it, through the critic with and
without its deterministic auto-repairs.

For each task, `--samples` replies to the free-form code prompt (the loop's own: the reply starts at
the opening ```python fence and stops at the closing one, as `CodeDesigner` asks a local model),
each checked by the critic as in a run (static checks, a sandboxed probe on 2,048 random-policy
transitions, the ranking pre-filter): once as written, once with the auto-repairs. Replies are kept
in `--out`/<task>/NN.md; a second call with the same `--out` checks the kept replies again
without generating (to measure new repairs on the same samples).

    python bench/free_form_repairs.py                                          # point_goal, escort, heading
    python bench/free_form_repairs.py --tasks tests/data/tasks/point_goal.yaml --samples 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eureka.config import PROBE_TRANSITIONS  # noqa: E402
from eureka.critic.checks import Critic  # noqa: E402
from eureka.design.designer import CODE_PREFILL  # noqa: E402
from eureka.design.llm.base import GenerationSettings, Message  # noqa: E402
from eureka.design.prompts import PromptBuilder  # noqa: E402
from eureka.envs import sample_transitions, space_info  # noqa: E402
from eureka.sandbox import make_sandbox  # noqa: E402
from eureka.task import load_task  # noqa: E402

DEFAULT_TASKS = ("tests/data/tasks/point_goal.yaml", "tests/data/tasks/escort.yaml", "tests/data/tasks/heading.yaml")


def generate(task_path: str, folder: Path, count: int, seed: int, model: str, timeout_s: float) -> None:
    from eureka.design.llm.local import LocalClient

    task = load_task(task_path)
    messages = PromptBuilder(task, space_info(task.env)).initial_messages()
    messages = messages + [Message("assistant", CODE_PREFILL)]
    settings = GenerationSettings(temperature=task.llm.temperature, max_tokens=task.llm.max_tokens, stop=("```",),
                                  timeout_s=timeout_s)
    client = LocalClient.from_spec(model, seed=seed + len(list(folder.glob("*.md"))))
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(len(list(folder.glob("*.md"))), count):
        start = time.monotonic()
        completion = client.complete(messages, settings)
        text = CODE_PREFILL + completion.text.rstrip() + "\n```\n"
        (folder / f"{index:02d}.md").write_text(text)
        print(f"  {task.name} {index:02d}: {time.monotonic() - start:.0f} s, {completion.completion_tokens} tokens",
              flush=True)


def check(task_path: str, folder: Path, sandbox) -> list[dict]:
    task = load_task(task_path)
    space = space_info(task.env)
    critic = Critic(sandbox, space, sample_transitions(task.env, PROBE_TRANSITIONS, seed=0), fitness=task.fitness)
    rows = []
    for path in sorted(folder.glob("*.md")):
        reply = path.read_text()
        _, plain = critic.check_reply(reply, auto_repair=False)
        _, repaired = critic.check_reply(reply)
        rows.append({"task": task.name, "sample": path.stem, "as_written": plain.stage,
                     "as_written_problem": (plain.problems or [""])[0][:160], "repaired": repaired.stage,
                     "repaired_problem": (repaired.problems or [""])[0][:160], "fixes": repaired.fixes})
        print(f"  {task.name} {path.stem}: as written {plain.stage}, repaired {repaired.stage} "
              f"{repaired.fixes} {(repaired.problems or [''])[0][:120]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--samples", type=int, default=4, help="replies per task (kept ones count)")
    parser.add_argument("--model", default="", help="local model: '' (the default 1.5B) or a .gguf path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one reply may take (a loaded machine)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "free_form_repairs")
    args = parser.parse_args()
    rows: list[dict] = []
    sandbox = make_sandbox(args.sandbox)
    for task_path in args.tasks:
        folder = args.out / Path(task_path).stem
        generate(task_path, folder, args.samples, args.seed, args.model, args.timeout)
        rows += check(task_path, folder, sandbox)
    (args.out / "checks.json").write_text(json.dumps(rows, indent=1))
    for when in ("as_written", "repaired"):
        passed = sum(r[when] == "passed" for r in rows)
        ran = sum(r[when] in ("passed", "ranking") for r in rows)
        print(f"{when}: {ran} of {len(rows)} ran in the probe, {passed} passed the critic")


if __name__ == "__main__":
    main()
