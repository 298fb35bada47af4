"""Dedupe on a real Ray cluster (a head and one worker node started with ``ray start`` on this machine):
the same clusters as the local engine, through ``ftds-agent dedupe --executor ray --ray-address``."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import LocalEngine
from tests.conftest import run_cli

ray = pytest.importorskip("ray", reason='needs the ray extra: pip install "ftds-agent[ray]" (scripts/setup-ray.sh)')
pytestmark = pytest.mark.cluster

WORDS = ["court", "party", "notice", "consent", "breach", "remedy", "damages", "record", "owner", "agency"]
HAN = list("国家机关企业个人组织数据信息安全保护管理制度责任义务权利合同履行违约赔偿登记审批监督")


def _records(count: int) -> list[dict[str, object]]:
    """Distinct Q&A, edited copies (near), punctuation-only copies (exact) and verbatim copies, shuffled."""
    rng = random.Random(11)
    base = []
    for i in range(count):
        if i % 2:
            question = f"第{i}条规定了什么？" + "".join(rng.choice(HAN) for _ in range(20))
        else:
            question = f"What does clause {i} say? " + " ".join(rng.choice(WORDS) for _ in range(12))
        base.append({"instruction": question, "output": f"answer {i}", "score": rng.random()})
    extra = []
    for record in rng.sample(base, count // 5):
        text = str(record["instruction"])
        cut = rng.randrange(len(text) // 2, len(text) - 1)
        extra.append({**record, "instruction": text[:cut] + "x" + text[cut + 1 :], "score": rng.random()})
    extra += [{**r, "instruction": str(r["instruction"]) + "!!"} for r in rng.sample(base, count // 10)]
    extra += [dict(r) for r in rng.sample(base, count // 10)] * 2
    records = base + extra
    rng.shuffle(records)
    return records


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_cli() -> str:
    found = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if not Path(found).exists():
        pytest.skip("the ray CLI is not installed")
    return found


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A head node and one worker node (``ray start --block``: each stops its own processes when
    terminated, so the test ends exactly the processes it started)."""
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="ftds-ray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--block", "--num-cpus", "1", "--disable-usage-stats"]
    head = subprocess.Popen(
        [
            _ray_cli(),
            "start",
            "--head",
            "--port",
            str(port),
            "--temp-dir",
            str(temp),
            "--include-dashboard",
            "false",
            *common,
        ],
        env=env,
        stdout=(temp / "head.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    worker = None
    try:
        _wait_for_nodes(address, 1, env, head)
        worker = subprocess.Popen(
            [_ray_cli(), "start", "--address", address, *common],
            env=env,
            stdout=(temp / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        _wait_for_nodes(address, 2, env, head)
        os.environ["RAY_AUTH_MODE"] = "disabled"
        yield address
    finally:
        for process in (worker, head):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_nodes(address: str, nodes: int, env: dict[str, str], head: subprocess.Popen) -> None:
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
        "print(sum(1 for n in ray.nodes() if n['Alive']))"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail("ray start --head exited")
        done = subprocess.run([sys.executable, "-c", probe, address], env=env, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip().isdigit() and int(done.stdout.strip()) >= nodes:
            return
        time.sleep(1)
    pytest.fail(f"the Ray cluster at {address} did not reach {nodes} nodes")


def test_cli_dedupe_on_a_ray_cluster_gives_the_local_clusters(ray_cluster: str, tmp_path: Path) -> None:
    records = _records(400)
    source = tmp_path / "data.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    local = run_cli("dedupe", str(source), "--out", "local.jsonl", "--score", "score", "--json", cwd=tmp_path)
    remote = run_cli(
        "dedupe",
        str(source),
        "--out",
        "ray.jsonl",
        "--score",
        "score",
        "--json",
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster,
        cwd=tmp_path,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["executor"] == "ray"
    kept = (tmp_path / "local.jsonl").read_text(encoding="utf-8")
    assert (tmp_path / "ray.jsonl").read_text(encoding="utf-8") == kept
    local_report = json.loads((tmp_path / "local.jsonl.report.json").read_text(encoding="utf-8"))
    ray_report = json.loads((tmp_path / "ray.jsonl.report.json").read_text(encoding="utf-8"))
    assert ray_report["clusters"] == local_report["clusters"]  # kept, removed, method and similarity alike
    methods = {c["method"] for c in local_report["clusters"]}
    assert {"exact", "near"} <= methods or "mixed" in methods
    assert len(local_report["clusters"]) >= 60


def test_ray_engine_yields_the_local_edges_in_the_local_order(ray_cluster: str) -> None:
    from ftds.tools.dataset.dedupe import record_text
    from ftds.tools.dataset.ray_dedupe import RayEngine

    texts = [record_text(r) for r in _records(200)]
    settings = DedupeSettings()
    local = list(LocalEngine().edges(texts, settings, ["exact", "near"]))
    engine = RayEngine(ray_cluster)
    try:
        remote = list(engine.edges(texts, settings, ["exact", "near"]))
    finally:
        engine.close()  # Ray ends a driver whose cluster stops: this test process must let go first
    assert remote == local and len(local) > 50
    assert {method for _, _, method, _ in local} == {"exact", "near"}
