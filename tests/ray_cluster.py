"""A real Ray cluster on this machine for the ``cluster`` tests: a head node and worker nodes, each started
with ``ray start --block`` in its own process group, so a test ends exactly the processes it started and can
kill one worker node whole (its raylet, object store and worker processes) as a lost machine would be."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.serving import free_port

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
"""A throwaway cluster on loopback: no token auth, no usage report (no network at run time)."""
_NO_STATS = "--disable-usage-stats"
_HEAD_FLAGS = (_NO_STATS, "--include-dashboard", "false")


def ray_cli() -> str:
    found = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if not Path(found).exists():
        pytest.skip("the ray CLI is not installed")
    return found


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]
    temp: Path
    head: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, cpus: int) -> subprocess.Popen[bytes]:
        nodes = len(self.workers) + 2
        worker = subprocess.Popen(
            [ray_cli(), "start", "--address", self.address, "--block", "--num-cpus", str(cpus), _NO_STATS],
            env=self.env,
            stdout=(self.temp / f"worker{nodes - 1}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        self.wait_for_nodes(nodes)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker node's whole process group: nothing of it says goodbye to the head."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    def alive_nodes(self) -> int:
        probe = (
            "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))"
        )
        done = subprocess.run([sys.executable, "-c", probe, self.address], env=self.env, capture_output=True, text=True)
        text = done.stdout.strip()
        return int(text) if done.returncode == 0 and text.isdigit() else -1

    def wait_for_nodes(self, nodes: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.head.poll() is not None:
                pytest.fail(f"ray start --head exited; see {self.temp / 'head.log'}")
            if self.alive_nodes() >= nodes:
                return
            time.sleep(1)
        pytest.fail(f"the Ray cluster at {self.address} did not reach {nodes} nodes")

    def stop(self) -> None:
        for process in (*self.workers, self.head):
            if process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def ray_cluster(head_cpus: int = 1, worker_cpus: tuple[int, ...] = (1,)) -> Iterator[RayCluster]:
    """A head with ``head_cpus`` and one worker node per entry of ``worker_cpus``; stopped on exit."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ftds-ray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {**os.environ, **RAY_ENV}
    head_flags = [*_HEAD_FLAGS, "--num-cpus", str(head_cpus)]
    head = subprocess.Popen(
        [ray_cli(), "start", "--head", "--port", str(port), "--temp-dir", str(temp), "--block", *head_flags],
        env=env,
        stdout=(temp / "head.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster = RayCluster(f"127.0.0.1:{port}", env, temp, head)
    try:
        cluster.wait_for_nodes(1)
        for cpus in worker_cpus:
            cluster.add_worker(cpus)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(temp, ignore_errors=True)
