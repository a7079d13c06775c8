"""Start-to-result latency of a trivial reward probe per sandbox backend.

Each sample is one `Critic.probe` of a trivial numpy reward (scratch dir written, job run
in the sandbox, result.json read, scratch removed). Backends are interleaved round-robin
so that load from other processes hits them alike; one warm-up probe each is dropped.

    python bench/sandbox_latency.py [--runs 10] [--backends none,bwrap,docker]

Targets: Docker < 0.6 s, bwrap < 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import warnings

from eureka.sandbox import SandboxError, make_sandbox
from eureka.sandbox.images import probe_once

TARGETS = {"docker": 0.6, "bwrap": 0.2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backends", default="none,bwrap,docker")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the 'none' backend warns on every probe

    sandboxes = {}
    for name in args.backends.split(","):
        try:
            sandboxes[name] = make_sandbox(name)
            probe_once(sandboxes[name])  # warm-up: page cache, image layers
        except SandboxError as exc:
            print(f"{name}: unavailable ({exc})")
    samples: dict[str, list[float]] = {name: [] for name in sandboxes}
    for _ in range(args.runs):
        for name, sandbox in sandboxes.items():
            samples[name].append(probe_once(sandbox))

    load = os.getloadavg()[0]
    print(f"trivial reward probe, start to result, {args.runs} runs each (load average {load:.1f})")
    print(f"{'backend':<8} {'median':>8} {'min':>8} {'max':>8}  target")
    for name, values in samples.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"< {target:.1f} s " + ("met" if statistics.median(values) < target
                                                                      else "MISSED")
        print(f"{name:<8} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}  {verdict}")


if __name__ == "__main__":
    main()
