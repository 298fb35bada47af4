"""``ftds-agent build --batch``: the build's calls go through the Batch API of the FAKE batch endpoint
(tests/fakes/fake_batch_server.py), from the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ftds.tools.records import Sample
from tests.conftest import run_cli
from tests.fakes.fake_batch_server import FakeBatchConfig, FakeBatchServer
from tests.fakes.fake_openai_server import FakeOpenAIServer

CHUNKS = "4"
SECRET = "sk-batch-test-SECRET-0123456789"  # must never reach a file, a log line or an error


def _flags(server: FakeBatchServer) -> list[str]:
    return ["--backend", "openai", "--model", "fake", "--base-url", server.base_url, "--batch", "--json"]


@pytest.fixture(autouse=True)
def batch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CLI run here has an API key to keep secret and polls the fake quickly."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("FTDS_LLM__BATCH_POLL_S", "0.05")
    monkeypatch.setenv("FTDS_LLM__BATCH_WINDOW_S", "0.3")


def _requests_per_batch(server: FakeBatchServer) -> list[int]:
    return [len(ids) for ids in server.batch_requests.values()]


def _paid_once(server: FakeBatchServer) -> bool:
    every = [cid for ids in server.batch_requests.values() for cid in ids]
    return len(every) == len(set(every))


def _records(out: Path, split: str) -> list[tuple[str, str, str]]:
    lines = (out / "provenance" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    samples = [Sample.model_validate_json(line) for line in lines]
    return sorted((s.sample_id, s.question, s.answer) for s in samples)


def _batches_in(ledger: Path) -> dict[str, int]:
    """The batches a run's ledger names, and whether each was read (1) or is still pending (0)."""
    if not ledger.is_file():
        return {}
    with closing(sqlite3.connect(ledger)) as db:
        try:
            return dict(db.execute("SELECT batch_id, collected FROM batches").fetchall())
        except sqlite3.OperationalError:  # the build is creating the tables right now
            return {}


def _no_secret_under(*folders: Path) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"the API key leaked into {path}"


def test_a_batch_build_accounts_for_every_chunk_reports_its_batches_and_matches_live_calls(
    tmp_path: Path, law_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeBatchServer(FakeBatchConfig(polls_to_finish=2)) as server:
        done = run_cli(
            "build", str(law_file), "--out", str(tmp_path / "out"), "--max-chunks", CHUNKS, *_flags(server),
            cwd=tmp_path,
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

    # the same dataset as live calls to the same (fake) model: batching changes the transport, nothing else
    with FakeOpenAIServer() as live_server:
        live_flags = ["--backend", "openai", "--model", "fake", "--base-url", live_server.base_url, "--json"]
        monkeypatch.setenv("FTDS_CACHE_DIR", str(tmp_path / "live-cache"))  # its own response cache
        live = run_cli(
            "build", str(law_file), "--out", str(tmp_path / "live"), "--max-chunks", CHUNKS, *live_flags, cwd=tmp_path
        )
        assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["splits"] == summary["splits"]
    for split in summary["splits"]:
        assert _records(tmp_path / "live", split) == _records(tmp_path / "out", split)


def _asks_for(line: dict[str, Any], key: str) -> bool:
    """Whether a batch request line is the prompt that asks for this JSON key (pairs = a draft, reviews = the
    rubric review), as the fake model tells its prompts apart."""
    return f'{{"{key}": [' in line["body"]["messages"][-1]["content"]


def test_requests_a_batch_answers_with_an_error_are_failures_with_reasons(tmp_path: Path, law_file: Path) -> None:
    failing: dict[str, Any] = {}  # what is failed: the first draft, and every review of the first reviewed chunk

    def pick(line: dict[str, Any]) -> bool:
        if _asks_for(line, "pairs"):
            return bool(failing.setdefault("draft", line["custom_id"]) == line["custom_id"])
        if _asks_for(line, "reviews"):  # the first reviewed questions, however the reviewer regroups them
            questions = set(re.findall(r"^\d+\. Q: (.*)$", line["body"]["messages"][-1]["content"], re.MULTILINE))
            return bool(questions & failing.setdefault("review", questions))
        return False

    with FakeBatchServer(FakeBatchConfig(polls_to_finish=1, fail_if=pick)) as server:
        done = run_cli(
            "build", str(law_file), "--out", str(tmp_path / "out"), "--max-chunks", CHUNKS, "--no-labels",
            *_flags(server), cwd=tmp_path,
        )  # fmt: skip
        per_batch = _requests_per_batch(server)
        error_files = [server.files[b["error_file_id"]] for b in server.batches.values() if b["error_file_id"]]
        errors = sum(len(content.splitlines()) for content in error_files)
    assert set(failing) == {"draft", "review"}
    assert done.returncode == 3, done.stderr  # partial: some work failed, the rest is there
    summary = json.loads(done.stdout)
    assert per_batch[:3] == [4, 3, 3]  # the chunk whose draft failed asks nothing more
    (figures,) = summary["endpoints"].values()
    assert figures["batch"] == {
        "batches": len(per_batch), "resumed": 0, "requests": sum(per_batch) - errors, "failed": errors,
    }  # fmt: skip
    assert errors >= 2
    # the failed draft fails its chunk, the failed reviews their samples, each with the batch's own reason
    (chunk_failure,) = summary["chunks_failed"]
    assert chunk_failure["reason"] == "generation:llm_error"
    assert "HTTP 400 in the batch: invalid request (fake)" in chunk_failure["detail"]
    rejected = [Sample.model_validate_json(line) for line in (tmp_path / "out" / "rejected.jsonl").open()]
    review_failures = [s for s in rejected if s.rejection and "HTTP 400 in the batch" in (s.rejection.detail or "")]
    assert summary["failed"] > 0 and len(review_failures) == summary["failed"]
    assert summary["chunks_processed"] + len(summary["chunks_failed"]) == summary["chunks_selected"] == int(CHUNKS)
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"{errors} failed, in {len(per_batch)} batches" in report


@pytest.mark.parametrize("killed_in_round", [1, 2])
def test_a_build_killed_while_its_batch_is_pending_resumes_the_same_batch(
    tmp_path: Path, law_file: Path, killed_in_round: int
) -> None:
    """Killed while the drafts' batch (round 1) or the round-trip quotes' batch (round 2) is pending."""
    hold = threading.Event()
    pending = f"batch-{killed_in_round}"
    with FakeBatchServer(FakeBatchConfig(polls_to_finish=1, hold=hold, hold_after=killed_in_round - 1)) as server:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "ftds.agents.cli", "build", str(law_file), "--out", str(tmp_path / "run"),
                "--max-chunks", CHUNKS, "--no-labels", "--run-id", "killed-batch", *_flags(server),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=dict(os.environ),
        )  # fmt: skip
        ledger = tmp_path / "runs" / "batches" / "killed-batch" / "generator.sqlite"
        deadline = time.monotonic() + 120
        while pending not in _batches_in(ledger):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"the build never created {pending}"
            time.sleep(0.05)
        polled = server.calls["retrieve"]
        while server.calls["retrieve"] < polled + 2:  # it is polling the pending batch
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        assert server.calls["create"] == killed_in_round and server.batch_requests[pending]

        hold.set()  # the provider finishes the batch while nobody waits for it
        resumed = run_cli("build", "--resume", "killed-batch", "--json", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        per_batch = _requests_per_batch(server)
        assert _paid_once(server)  # no request went into two batches
        creates = server.calls["create"]
    # exactly one batch per round (drafts, round-trip quotes, reviews): the pending one was not sent again, and
    # the finished round's calls were replayed from the checkpoint, not asked again
    assert per_batch == [4, 4, 4] and creates == 3
    summary = json.loads(resumed.stdout)
    (figures,) = summary["endpoints"].values()
    rounds_left = 4 - killed_in_round  # the pending round and the ones after it
    assert figures["batch"] == {"batches": rounds_left - 1, "resumed": 1, "requests": 4 * rounds_left, "failed": 0}
    assert summary["chunks_selected"] == summary["chunks_processed"] == int(CHUNKS)
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert summary["accepted"] > 0
    assert summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"] == 12  # every paid call
    assert _batches_in(ledger) == {"batch-1": 1, "batch-2": 1, "batch-3": 1}  # all answered and read
    _no_secret_under(tmp_path / "run", tmp_path / "runs")


def test_batch_needs_an_openai_compatible_endpoint(tmp_path: Path, law_file: Path) -> None:
    refused = run_cli("build", str(law_file), "--out", str(tmp_path / "out"), "--batch", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    for words in ("--batch", "OpenAI-compatible", "--backend openai"):
        assert words in refused.stderr
    assert "Traceback" not in refused.stderr
    # a reviewer configured as the embedded model cannot batch either
    config = tmp_path / "ftds.toml"
    config.write_text('[reviewer]\nbackend = "embedded"\n', encoding="utf-8")
    endpoint = ["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    refused = run_cli(
        "build", str(law_file), "--out", str(tmp_path / "out"), *endpoint, "--batch", "--config", str(config),
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "the reviewer is the embedded model" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "runs" / "batches").exists()
