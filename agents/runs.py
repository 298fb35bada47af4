"""The run registry: which builds exist, where their output goes, and how they ended.

LangGraph's checkpointer remembers *where* a run is; this registry remembers *what* the run is (inputs,
settings snapshot, output folder, status, final summary), so ``ftds-agent build --resume RUN_ID`` and
``ftds-agent runs`` need nothing but the run id. Both live in ``settings.runs_dir``. The settings snapshot
holds no secrets: API keys are only ever named by their environment variable, and a credential written into
a URL is redacted before anything is stored (a resume takes the real URL from the current configuration).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ftds.tools.redact import redact_data, redact_text

RunStatus = Literal["running", "finished", "partial", "failed", "interrupted"]


class RunRecord(BaseModel):
    run_id: str
    status: RunStatus
    created_at: float
    updated_at: float
    domain: str
    inputs: list[str]
    out_dir: str
    settings: dict[str, Any]
    summary: dict[str, Any] | None = None
    error: str | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    domain TEXT NOT NULL,
    inputs TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    settings TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    pid INTEGER
)
"""


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        runs_dir.mkdir(parents=True, exist_ok=True)
        self.path = runs_dir / "registry.sqlite"
        self.checkpoints = runs_dir / "checkpoints.sqlite"
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def create(self, run_id: str, domain: str, inputs: list[str], out_dir: str, settings: dict[str, Any]) -> RunRecord:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, 'running', ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                (
                    run_id,
                    now,
                    now,
                    domain,
                    json.dumps(inputs),
                    out_dir,
                    json.dumps(redact_data(settings), default=str),
                    os.getpid(),
                ),
            )
        record = self.get(run_id)
        assert record is not None
        return record

    def update(
        self, run_id: str, status: RunStatus, summary: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = ?, updated_at = ?, summary = COALESCE(?, summary), error = ?, pid = ? "
                "WHERE run_id = ?",
                (
                    status,
                    time.time(),
                    json.dumps(redact_data(summary)) if summary is not None else None,
                    redact_text(error) if error is not None else None,
                    os.getpid(),
                    run_id,
                ),
            )

    def get(self, run_id: str) -> RunRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return self._record(row) if row else None

    def list(self, limit: int | None = 50) -> list[RunRecord]:
        """Runs, newest first; ``limit=None`` lists them all (for a caller that filters them)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit or -1,)).fetchall()
        return [self._record(row) for row in rows]

    @staticmethod
    def _record(row: tuple[Any, ...]) -> RunRecord:
        run_id, status, created, updated, domain, inputs, out_dir, settings, summary, error, pid = row
        if status == "running" and not _alive(pid):
            status = "interrupted"  # the process died without saying so (SIGKILL, power loss)
        return RunRecord(
            run_id=run_id,
            status=status,
            created_at=created,
            updated_at=updated,
            domain=domain,
            inputs=json.loads(inputs),
            out_dir=out_dir,
            settings=json.loads(settings),
            summary=json.loads(summary) if summary else None,
            error=error,
        )
