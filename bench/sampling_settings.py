"""Which sampling temperature suits the embedded model in structured mode?

For each task and temperature: `--samples` specs drawn from the task's first prompt (as the
first generation of a run draws them, same seed per temperature), each checked by the critic as
in a run (compile, sandboxed probe, semantic selection). Reported: accepted samples (what the
generation can train) and distinct accepted specs (what it can learn from: a generation of
copies teaches nothing), with the mean seconds per sample.

    python bench/sampling_settings.py                                  # ~10 min on 2 cores
    python bench/sampling_settings.py --temperatures 0.8 1.0 --samples 12
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eureka.app import probe_limits  # noqa: E402
from eureka.config import PROBE_TRANSITIONS  # noqa: E402
from eureka.critic.checks import Critic  # noqa: E402
from eureka.envs import sample_transitions, space_info  # noqa: E402
from eureka.design.llm.base import GenerationSettings  # noqa: E402
from eureka.design.llm.local import LocalClient  # noqa: E402
from eureka.design.prompts import SpecPromptBuilder  # noqa: E402
from eureka.sandbox import make_sandbox  # noqa: E402
from eureka.design.spec import SpecMode  # noqa: E402
from eureka.task import load_task  # noqa: E402

DEFAULT_TASKS = ("tasks/cartpole.yaml", "tasks/pendulum.yaml", "tasks/mountain_car.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.4, 0.8, 1.2])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sandbox", default="bwrap")
    args = parser.parse_args()

    sandbox = make_sandbox(args.sandbox)
    rows = []
    for path in args.tasks:
        task = load_task(ROOT / path)
        space = space_info(task.env)
        transitions = sample_transitions(task.env, PROBE_TRANSITIONS, seed=0)
        mode = SpecMode.for_task(task, space, transitions)
        critic = Critic(sandbox, space, transitions, probe_limits(task), fitness=task.fitness)
        messages = SpecPromptBuilder(task, space, mode).initial_messages()
        for temperature in args.temperatures:
            client = LocalClient.from_spec("", seed=args.seed)
            settings = mode.generation_settings(GenerationSettings(temperature=temperature,
                                                                   max_tokens=task.llm.max_tokens))
            accepted, distinct, seconds = 0, set(), 0.0
            for _ in range(args.samples):
                start = time.monotonic()
                reply = client.complete(messages, settings).text
                seconds += time.monotonic() - start
                code, verdict = mode.check_reply(critic, reply)
                if verdict.accepted:
                    accepted += 1
                    distinct.add(mode.spec_text(reply))
            rows.append((task.name, temperature, accepted, len(distinct), seconds / args.samples))
            print(f"{task.name} T={temperature}: accepted {accepted}/{args.samples}, distinct accepted "
                  f"{len(distinct)}, {seconds / args.samples:.1f} s/sample", flush=True)
    print("\n| task | temperature | accepted | distinct accepted | s/sample |\n|---|---|---|---|---|")
    for name, temperature, accepted, distinct, per in rows:
        print(f"| {name} | {temperature} | {accepted}/{args.samples} | {distinct} | {per:.1f} |")
    for temperature in args.temperatures:
        mine = [r for r in rows if r[1] == temperature]
        print(f"T={temperature}: accepted {sum(r[2] for r in mine)}, distinct accepted {sum(r[3] for r in mine)} "
              f"over {len(mine)} tasks")


if __name__ == "__main__":
    main()
