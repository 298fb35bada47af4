"""``ftds-agent studio``: imports what it is given, serves on loopback, refuses bad usage with exit 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import run_cli
from tests.studio.conftest import _free_port, wait_for


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    command = [sys.executable, "-m", "ftds.agents.cli", "studio", *args, "--no-browser", "--json"]
    server = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, json.loads(server.stdout.readline())


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(timeout=30)


def test_studio_imports_a_build_and_serves_it_on_loopback(tmp_path: Path, build_folder: Path) -> None:
    port = _free_port()
    workspace = ["--workspace", str(tmp_path / "ws"), "--port", str(port)]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "law.md").write_text("第一条 数据处理包括数据的收集、存储、使用。\n", encoding="utf-8")
    server, started = _start(tmp_path, str(build_folder), *workspace, "--docs", str(docs))
    try:
        assert started["url"] == f"http://127.0.0.1:{port}/"
        assert started["imported"][0]["added"] == 15  # type: ignore[index]

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/datasets", timeout=2) as response:
                    return bool(json.loads(response.read())[0]["counts"]["total"] == 15)
            except OSError:
                return False

        wait_for(answers, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/datasets/1/samples/s001", timeout=10) as response:
            assert json.loads(response.read())["passage"] == "第一条 数据处理包括数据的收集、存储、使用。\n"[:20]
    finally:
        _stop(server)
    server, again = _start(tmp_path, str(build_folder), *workspace)
    _stop(server)
    assert again["imported"][0]["added"] == 0  # type: ignore[index]  # a second start re-reads, never imports twice


def test_studio_refuses_bad_usage_with_a_reason(tmp_path: Path) -> None:
    missing = run_cli("studio", str(tmp_path / "absent"), "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_map = run_cli("studio", "--map", "nonsense", "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert bad_map.returncode == 2 and "target=source" in bad_map.stderr
    exposed = run_cli("studio", "--host", "0.0.0.0", "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert exposed.returncode == 2 and "without a token" in exposed.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run_cli("studio", "--port", port, "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in missing.stderr + bad_map.stderr + exposed.stderr + busy.stderr
