"""``ftds-agent build --executor ray`` on a real Ray cluster (a head and a worker node started with ``ray start``
on this machine) against the fake OpenAI-compatible server: the same dataset as the local executor, a killed
driver resumes with only the unfinished chunks, and a worker node killed mid-run still ends with every chunk
accounted for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, fake_llm_flags
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig
from tests.fakes.serving import free_port
from tests.flow_helpers import dataset_files
from tests.ray_cluster import RAY_ENV, RayCluster, ray_cluster

pytest.importorskip("ray", reason='needs the ray extra: pip install "ftds-agent[ray]" (scripts/setup-ray.sh)')
pytestmark = pytest.mark.cluster

CHUNKS = 200
INPUT = CORPUS / "law_zh"  # 248 chunks at the default chunk size; 200 of them, spread over the statutes
_CLI = (sys.executable, "-m", "ftds.agents.cli")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    with ray_cluster(head_cpus=1, worker_cpus=(1,)) as started:
        yield started


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(FakeServerConfig(latency_s=0.1)) as started:
        yield started


@pytest.fixture(scope="module")
def local_build(server: FakeOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the same 200 chunks through the local executor."""
    work = tmp_path_factory.mktemp("local")
    done = subprocess.run(_command(server, work / "out"), **_run_args(work), timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return work / "out"


def _command(server: FakeOpenAIServer, out: Path, *extra: str) -> list[str]:
    return [
        *_CLI,
        "build",
        str(INPUT),
        "--out",
        str(out),
        "--max-chunks",
        str(CHUNKS),
        "--no-labels",
        *fake_llm_flags(server),
        "--json",
        *extra,
    ]


def _env(work: Path) -> dict[str, str]:
    """No response cache: every chunk that runs calls the server, so the server's count is the work done."""
    return {
        **os.environ,
        **RAY_ENV,
        "FTDS_CACHE_DIR": str(work / "cache"),
        "FTDS_RUNS_DIR": str(work / "runs"),
        "FTDS_LLM__CACHE": "false",
    }


def _run_args(work: Path) -> dict[str, object]:
    return {"capture_output": True, "text": True, "env": _env(work), "cwd": work}


def _report(out: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


def _wait_for_live_chunks(out: Path, count: int, process: subprocess.Popen[Any], timeout: float = 300) -> None:
    """Until the running build has written ``count`` finished chunks to its live folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the build ended before it could be interrupted"
        live = out / "live"
        if live.is_dir() and sum(1 for _ in live.glob("*.jsonl")) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"the build did not finish {count} chunks within {timeout:.0f} s")


def test_ray_build_writes_the_localdataset_files(
    cluster: RayCluster, server: FakeOpenAIServer, local_build: Path, tmp_path: Path
) -> None:
    calls_before = len(server.answered)
    out = tmp_path / "out"
    command = _command(server, out, "--executor", "ray", "--ray-address", cluster.address)
    done = subprocess.run(command, **_run_args(tmp_path), timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["chunks_processed"] == CHUNKS and summary["accepted"] > 100
    assert summary["executor"] == {
        "name": "ray",
        "address": cluster.address,
        "workers": 2,  # one per CPU of the cluster: one on the head, one on the worker node
        "lost_workers": 0,
        "resent_chunks": 0,
    }
    assert dataset_files(out) == dataset_files(local_build)  # same accepted samples, same splits, same rejections
    local = _report(local_build)
    assert summary["generated"] == local["generated"] and summary["rejection_reasons"] == local["rejection_reasons"]
    assert len(server.answered) - calls_before == local["generator_usage"]["calls"] + local["reviewer_usage"]["calls"]  # type: ignore[index]
    assert not (out / "live").exists()


def test_a_killed_ray_driver_resumes_with_only_the_unfinished_chunks(
    cluster: RayCluster, server: FakeOpenAIServer, local_build: Path, tmp_path: Path
) -> None:
    local = _report(local_build)
    full_run_calls = local["generator_usage"]["calls"] + local["reviewer_usage"]["calls"]  # type: ignore[index]
    out = tmp_path / "out"
    calls_before = len(server.answered)
    command = _command(server, out, "--executor", "ray", "--ray-address", cluster.address, "--run-id", "killed")
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp_path))
    try:
        _wait_for_live_chunks(out, 60, driver)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finished_before_kill = sum(1 for _ in (out / "live").glob("*.jsonl"))
    resumed = subprocess.run(
        [*_CLI, "build", "--resume", "killed", "--ray-address", cluster.address, "--json"],
        **_run_args(tmp_path),
        timeout=900,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stdout)
    assert summary["chunks_processed"] == CHUNKS and not summary["chunks_failed"]
    assert dataset_files(out) == dataset_files(local_build)
    # the chunks finished before the kill were not asked again: only the chunks in flight at the kill (the
    # driver keeps 2 workers x 4 in flight; a chunk makes at most 6 calls with one revision) were paid twice
    paid = len(server.answered) - calls_before
    assert finished_before_kill >= 60
    assert full_run_calls <= paid <= full_run_calls + 2 * 4 * 6


def test_a_worker_node_killed_mid_run_still_accounts_for_every_chunk(
    cluster: RayCluster, server: FakeOpenAIServer, local_build: Path, tmp_path: Path
) -> None:
    """Last in this module: the cluster loses its worker node for good."""
    out = tmp_path / "out"
    command = _command(server, out, "--executor", "ray", "--ray-address", cluster.address)
    driver = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=tmp_path
    )
    try:
        _wait_for_live_chunks(out, 40, driver)
        cluster.kill_worker(cluster.workers[0])
        stdout, stderr = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["chunks_processed"] == CHUNKS and not summary["chunks_failed"] and summary["failed"] == 0
    executor = summary["executor"]
    assert executor["lost_workers"] >= 1 and executor["resent_chunks"] >= 1
    assert dataset_files(out) == dataset_files(local_build)  # the re-sent chunks gave the same samples


def test_bad_executor_options_are_refused_before_any_work(tmp_path: Path) -> None:
    port = free_port()  # nothing listens on it
    llm = ["--backend", "openai", "--model", "fake", "--base-url", "http://127.0.0.1:9/v1"]
    cases = {
        "no Ray cluster answers at": ["--executor", "ray", "--ray-address", f"127.0.0.1:{port}"],
        "is not HOST:PORT": ["--ray-address", "head:port"],
        "'local' or 'ray'": ["--executor", "bogus"],
        "--ray-address is for --executor ray": ["--executor", "local", "--ray-address", "127.0.0.1:6379"],
        "--batch and --executor ray do not go together": ["--executor", "ray", "--batch"],
    }
    for message, options in cases.items():
        done = subprocess.run(
            [*_CLI, "build", str(INPUT), "--out", str(tmp_path / "out"), *llm, *options],
            **_run_args(tmp_path),
            timeout=300,
            check=False,
        )
        assert done.returncode == 2, (options, done.stderr[-2000:])
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert not (tmp_path / "out" / "report.json").exists()
