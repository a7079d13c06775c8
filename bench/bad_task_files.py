"""Time and peak memory of `eureka run` on each malformed task file of tests/test_task_corpus.py.

    PYTHONPATH=. python3 bench/bad_task_files.py

Each case runs the CLI in a fresh child process and reports its exit code, the wall time from
the first import to exit, and the child's peak resident memory (resource.getrusage).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_task_corpus import CASES, MEASURE  # noqa: E402


def main() -> None:
    print(f"{'case':42} {'exit':>4} {'seconds':>8} {'peak MB':>8}")
    for name, (make, _) in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            task = Path(folder) / "task.yaml"
            task.write_bytes(make(Path(folder)))
            proc = subprocess.run([sys.executable, "-c", MEASURE, "run", str(task), "--runs-dir",
                                   str(Path(folder) / "runs")], capture_output=True, text=True, cwd=folder)
            stats = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name:42} {stats['code']:>4} {stats['seconds']:>8.2f} {stats['rss_mb']:>8.0f}")


if __name__ == "__main__":
    main()
