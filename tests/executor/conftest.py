"""A real local Ray cluster for the executor tests: a head on 127.0.0.2 that runs no jobs (as
on a real cluster's head) and one worker node on 127.0.0.3, each `ray start --block` in its own
process group, so a test can kill the worker node like a lost machine. Ray replaces 127.0.0.1
with the machine's outward address, hence 127.0.0.2/3 (see docs/cluster.md)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import require

ROOT = Path(__file__).resolve().parents[2]
HEAD_IP = "127.0.0.2"
# Notice a lost node within ~3 s instead of Ray's default ~30 s.
FAST_HEALTH_CHECKS = {"RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3",
                      "RAY_health_check_initial_delay_ms": "1000"}


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class LocalCluster:
    address: str
    temp_dir: str
    env: dict[str, str]
    head: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    ips: dict[int, str] = field(default_factory=dict)  # worker process id -> its node's address
    next_ip: int = 3

    def add_worker(self, cpus: int = 2) -> subprocess.Popen:
        """A worker node on the next loopback address, in its own process group."""
        ip, self.next_ip = f"127.0.0.{self.next_ip}", self.next_ip + 1
        proc = subprocess.Popen(
            ["ray", "start", f"--address={self.address}", f"--node-ip-address={ip}", f"--num-cpus={cpus}",
             f"--memory={16 << 30}", "--disable-usage-stats", "--block"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.workers.append(proc)
        self.ips[proc.pid] = ip
        self.wait_for_nodes(len(self.alive_workers()))
        return proc

    def alive_workers(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """The machine is lost: its raylet, its Ray workers and the jobs they run."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def wait_for_nodes(self, workers: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = subprocess.run(["ray", "status", f"--address={self.address}"], env=self.env,
                                    capture_output=True, text=True, timeout=60)
            if status.stdout.count(" node_") >= workers + 1 and "Active:" in status.stdout:
                active = status.stdout.split("Active:")[1].split("Pending:")[0]
                if active.count("node_") >= workers + 1:
                    return
            time.sleep(1.0)
        raise RuntimeError(f"the Ray cluster did not reach {workers} worker nodes")

    def stop(self) -> None:
        for proc in [*self.workers, self.head]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_cluster(worker_cpus: int = 2) -> LocalCluster:
    """A head that runs no jobs plus one worker node (bench/executors.py uses it too)."""
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {**os.environ, **FAST_HEALTH_CHECKS, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    port = free_port(HEAD_IP)
    head = subprocess.Popen(
        ["ray", "start", "--head", f"--node-ip-address={HEAD_IP}", f"--port={port}", "--num-cpus=0",
         f"--temp-dir={temp_dir}", "--include-dashboard=false", "--disable-usage-stats",
         f"--ray-client-server-port={free_port(HEAD_IP)}", "--block"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cluster = LocalCluster(f"{HEAD_IP}:{port}", temp_dir, env, head)
    try:
        cluster.wait_for_nodes(0)
        cluster.add_worker(worker_cpus)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def ray_cluster():
    require("ray", "Ray (the ray extra)")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
