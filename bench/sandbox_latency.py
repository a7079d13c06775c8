"""Start-to-result latency of a trivial reward probe per sandbox backend.

Each sample is one `Critic.probe` of a trivial numpy reward (scratch dir written, job run
in the sandbox, result.json read, scratch removed). A second row per backend times a
floor job that only imports numpy and writes result.json: the difference between the two
is the probe job's own start-up (its imports), the floor minus `none` is the sandbox's.
Backends are interleaved round-robin so that load from other processes hits them alike;
one warm-up probe each is dropped.

    python bench/sandbox_latency.py [--runs 10] [--backends none,bwrap,docker]

Targets: Docker < 0.6 s, bwrap < 0.2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from eureka.sandbox import SandboxError, SandboxJob, SandboxLimits, make_sandbox
from eureka.sandbox.images import probe_once

FLOOR_JOB = "import sys, numpy; open(sys.argv[1] + '/result.json', 'w').write('{}')\n"


def floor_once(sandbox) -> float:
    """Run a job that imports numpy and writes result.json; start-to-result seconds.

    The job module lies in the scratch dir, which `python -m` finds as the current directory.
    """
    scratch = Path(tempfile.mkdtemp(prefix="eureka-bench-"))
    try:
        (scratch / "floor_job.py").write_text(FLOOR_JOB)
        scratch.chmod(0o777)
        start = time.monotonic()
        outcome = sandbox.run(SandboxJob("floor_job", scratch, SandboxLimits(timeout_s=30)))
        seconds = time.monotonic() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not outcome.ok:
        raise SandboxError(f"floor job failed in {sandbox.name}: {outcome.detail} {outcome.log_tail[-300:]}")
    return seconds

TARGETS = {"docker": 0.6, "bwrap": 0.2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backends", default="none,bwrap,docker")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    quiet = contextlib.redirect_stderr(io.StringIO())  # the 'none' backend warns on every job

    sandboxes = {}
    for name in args.backends.split(","):
        try:
            sandbox = make_sandbox(name)
            with quiet:
                probe_once(sandbox)  # warm-up: page cache, image layers
            sandboxes[name] = sandbox
        except SandboxError as exc:
            print(f"{name}: unavailable ({exc})")
    probe: dict[str, list[float]] = {name: [] for name in sandboxes}
    floor: dict[str, list[float]] = {name: [] for name in sandboxes}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, sandbox in sandboxes.items():
            with quiet:
                probe[name].append(probe_once(sandbox))
                floor[name].append(floor_once(sandbox))

    load = (load_before + os.getloadavg()[0]) / 2
    print(f"start to result, median of {args.runs} runs each (2 cores, load average {load:.1f})")
    print(f"{'backend':<8} {'probe':>8} {'min':>7} {'max':>7}   {'numpy job':>9}   target (probe)")
    for name in sandboxes:
        values, median = probe[name], statistics.median(probe[name])
        target = TARGETS.get(name)
        verdict = "" if target is None else f"< {target:.1f} s " + ("met" if median < target else "MISSED")
        print(f"{name:<8} {median:8.3f} {min(values):7.3f} {max(values):7.3f}   "
              f"{statistics.median(floor[name]):9.3f}   {verdict}")


if __name__ == "__main__":
    main()
