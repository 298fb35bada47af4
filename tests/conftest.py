"""Shared fixtures. The autouse fixture isolates every test from the developer's own config, keys and
cache, so a test can never pass (or fail) because of something on the machine it runs on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "corpus"  # real public documents shipped with the repo (see its README.md)
MODEL_CACHE = REPO / ".pytest_cache" / "ftds-models"  # assembled GGUF shared across test sessions


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FTDS_") or name in {"OPENAI_API_KEY", "OPENAI_BASE_URL"}:
            monkeypatch.delenv(name, raising=False)
    config_home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("FTDS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FTDS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the test corpus is missing at {CORPUS}; it ships with the repository (git checkout tests/data)")
    return CORPUS


@pytest.fixture
def law_file(corpus: Path) -> Path:
    return corpus / "law_zh" / "数据安全法(2021-06-10).md"


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(FakeServerConfig()) as server:
        yield server


def fake_llm_overrides(server: FakeOpenAIServer, **extra: object) -> dict[str, object]:
    return {
        "backend": "openai",
        "model": "fake-model",
        "base_url": server.base_url,
        "max_retries": 4,
        "timeout_s": 2.0,
        **extra,
    }


def fake_llm_flags(server: FakeOpenAIServer) -> list[str]:
    """The ``ftds-agent`` flags that point a CLI run at the fake OpenAI-compatible server."""
    return ["--backend", "openai", "--model", "fake", "--base-url", server.base_url]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection or name lookup beyond this machine fails, as on a machine with the network off."""
    import socket

    loopback = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in loopback:
            raise OSError(f"network disabled in this test (connect to {host})")
        real_connect(self, address)  # type: ignore[arg-type]

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in loopback and host is not None:
            raise socket.gaierror(f"network disabled in this test (lookup of {host})")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``ftds-agent ARGS`` in a subprocess, with the environment the autouse fixture isolated (cache, runs)."""
    return subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=timeout,
        check=False,
    )
