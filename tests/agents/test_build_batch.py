"""``ftds-agent build --batch``: the build's calls go through the Batch API of the FAKE batch endpoint
(tests/fakes/fake_batch_server.py), from the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.fake_batch_server import FakeBatchConfig, FakeBatchServer

CHUNKS = "4"
SECRET = "sk-batch-test-SECRET-0123456789"  # must never reach a file, a log line or an error


def _flags(server: FakeBatchServer) -> list[str]:
    return ["--backend", "openai", "--model", "fake", "--base-url", server.base_url, "--batch", "--json"]


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "OPENAI_API_KEY": SECRET,
        "FTDS_LLM__BATCH_POLL_S": "0.05",
        "FTDS_LLM__BATCH_WINDOW_S": "0.3",
        **extra,
    }


def _build(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", "build", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def _requests_per_batch(server: FakeBatchServer) -> list[int]:
    return [len(ids) for ids in server.batch_requests.values()]


def _paid_once(server: FakeBatchServer) -> bool:
    every = [cid for ids in server.batch_requests.values() for cid in ids]
    return len(every) == len(set(every))


def _no_secret_under(*folders: Path) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"the API key leaked into {path}"


def test_a_batch_build_accounts_for_every_chunk_and_reports_its_batches(tmp_path: Path, law_file: Path) -> None:
    with FakeBatchServer(FakeBatchConfig(polls_to_finish=2)) as server:
        done = _build(
            str(law_file), "--out", str(tmp_path / "out"), "--max-chunks", CHUNKS, *_flags(server),
            cwd=tmp_path, env=_env(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        per_batch = _requests_per_batch(server)
        assert _paid_once(server)
    summary = json.loads(done.stdout)
    assert summary["chunks_selected"] == summary["chunks_processed"] == int(CHUNKS)
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert summary["accepted"] > 0 and sum(summary["splits"].values()) == summary["accepted"]
    # one batch per round of the flow: the label tree, then every chunk's draft, round-trip quotes, review
    assert per_batch == [1, 4, 4, 4]
    (figures,) = summary["endpoints"].values()
    assert figures["batch"] == {"batches": 4, "resumed": 0, "requests": 13, "failed": 0}
    paid = summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"]
    assert paid == sum(per_batch)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "calls sent through its Batch API: 13 requests answered and 0 failed, in 4 batches" in report
    _no_secret_under(tmp_path / "out", tmp_path / "runs")
    assert SECRET not in done.stderr + done.stdout
