"""Studio fixtures: workspaces on SQLite and on a real PostgreSQL server the tests start themselves, and
small build output folders written from real Sample records."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftds.tools.studio.store import Workspace, open_workspace

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str | None:
    for folder in PG_BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temp dir (initdb + pg_ctl), run as an unprivileged user when
    the tests run as root (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        assert initdb and pg_ctl
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="ftds-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user)
        self._run([initdb, "-D", str(self.data), "-U", "studio", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"])
        self.counter = 0

    def _run(self, command: list[str]) -> None:
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def new_database(self) -> str:
        import psycopg

        self.counter += 1
        name = f"studio_{self.counter}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=studio dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://studio@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def postgres_skip_reason() -> str | None:
    if not _pg_bin("initdb") or not _pg_bin("pg_ctl"):
        return "PostgreSQL binaries absent: run scripts/setup-postgres.sh"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg absent: pip install -e '.[studio-pg]' (scripts/setup-postgres.sh)"
    if os.geteuid() == 0:
        import pwd

        if not shutil.which("runuser"):
            return "running as root without runuser: PostgreSQL cannot start"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run the server as (Debian's postgresql creates it)"
    return None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A workspace location on each backend: a SQLite folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "workspace")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def ws(backend: str) -> Iterator[Workspace]:
    workspace = open_workspace(backend)
    yield workspace
    workspace.close()


def sample(
    index: int, label: str | None, *, rejected: bool = False, score: float = 0.8, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sample_id": f"s{index:03d}",
        "question": f"第{index}问：什么是数据处理？",
        "answer": f"数据处理包括数据的收集、存储、使用（第{index}条）。",
        "label": label,
        "domain": "law",
        "language": "zh",
        "provenance": {"source": "law.md" if index % 3 else "other.md", "char_start": 0, "char_end": 20},
        "model": "fake",
        "prompt_version": "qa_generate@1",
        "review": {"decision": "accept", "total": score, "rationale": "grounded"},
        "checks": [{"name": "evidence", "passed": index % 4 != 0, "detail": ""}],
        **extra,
    }
    if rejected:
        data["rejection"] = {"reason": "precheck:unsupported", "detail": "no lexical support"}
    return data


def write_build(folder: Path, accepted: dict[str, list[dict[str, Any]]], rejected: list[dict[str, Any]]) -> Path:
    """A build output folder as the build writes it: provenance/{split}.jsonl, rejected.jsonl, report.json."""
    (folder / "provenance").mkdir(parents=True, exist_ok=True)
    for split, items in accepted.items():
        with (folder / "provenance" / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    with (folder / "rejected.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in rejected)
    total = sum(len(v) for v in accepted.values())
    report = {"run_id": "t", "domain": "law", "task": "qa", "generated": total + len(rejected), "accepted": total}
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


@pytest.fixture
def build_folder(tmp_path: Path) -> Path:
    """12 accepted samples in two labels (train/validation) and 3 rejected ones."""
    labels = ["总则/定义", "数据安全/制度", "数据安全/义务"]
    train = [sample(i, labels[i % 3], score=0.5 + i / 40) for i in range(10)]
    validation = [sample(i, labels[i % 3]) for i in range(10, 12)]
    rejected = [sample(i, None, rejected=True, score=0.2) for i in range(12, 15)]
    return write_build(tmp_path / "build", {"train": train, "validation": validation}, rejected)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
