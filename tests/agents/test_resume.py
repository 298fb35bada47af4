"""A build killed with SIGKILL resumes from its SQLite checkpoint without repeating a finished LLM call."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ftds.tools.records import Sample
from tests.conftest import fake_llm_flags
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig, body_digest

CHUNKS = "4"  # 1 label-tree call, then per chunk a draft, a round-trip quote call and a review, one at a time


CLI = [sys.executable, "-m", "ftds.agents.cli"]


def _build_args(server: FakeOpenAIServer, source: Path, out: Path, *extra: str) -> list[str]:
    """``build`` of the first CHUNKS chunks of ``source`` into ``out`` against the fake server, JSON summary."""
    return ["build", str(source), "--out", str(out), "--max-chunks", CHUNKS, *extra, *fake_llm_flags(server), "--json"]


def _env(cache: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "FTDS_LLM__CONCURRENCY": "1"}
    if cache is not None:  # each run family gets its own response cache
        env["FTDS_CACHE_DIR"] = str(cache)
    return env


def _cli(
    *args: str, cache: Path | None = None, timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``ftds-agent ARGS`` run to its end in a subprocess, one LLM call at a time (see :func:`_env`)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(cache), timeout=timeout, check=check)


def test_sigkilled_run_resumes_without_repeating_finished_calls(tmp_path: Path, law_file: Path) -> None:
    with FakeOpenAIServer() as server:
        baseline = _cli(*_build_args(server, law_file, tmp_path / "base"), cache=tmp_path / "base-cache")
        assert baseline.returncode == 0, baseline.stderr
        baseline_calls = len(server.answered)
        baseline_summary = json.loads(baseline.stdout)
    assert baseline_calls == 13  # label tree, then per chunk: draft, round-trip quotes, review

    victim: dict[str, Any] = {}

    def kill_on_seventh_call(number: int) -> None:
        if number == 7:  # the second chunk's review is in flight: the label tree and 5 calls have finished
            victim["answered_at_kill"] = list(victim["server"].answered)
            os.kill(victim["process"].pid, signal.SIGKILL)

    with FakeOpenAIServer(FakeServerConfig(on_request=kill_on_seventh_call)) as server:
        victim["server"] = server
        victim["process"] = subprocess.Popen(
            [*CLI, *_build_args(server, law_file, tmp_path / "run", "--run-id", "killed-run")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        victim["process"].communicate(timeout=300)
        assert victim["process"].returncode == -signal.SIGKILL
        answered_before_kill = victim["answered_at_kill"]
        requests_before_kill = len(server.requests)
        assert len(answered_before_kill) == 6
        # the chunks that finished before the kill are already on disk for review (ftds-agent studio reads them)
        live = sorted((tmp_path / "run" / "live").glob("*.jsonl"))
        assert live and all(Sample.model_validate_json(line) for f in live for line in f.read_text().splitlines())

        listing = _cli("runs", "--json", timeout=120, check=True)
        assert json.loads(listing.stdout)[0]["status"] == "interrupted"

        resumed = _cli("build", "--resume", "killed-run", "--json")
        assert resumed.returncode == 0, resumed.stderr
        calls_after_resume = [body_digest(body) for body in server.requests[requests_before_kill:]]

    # A call that finished before the kill is never sent again: its task's checkpoint write, or failing that
    # (a kill between the reply and the background checkpoint write) the response cache, replays it.
    assert not set(calls_after_resume) & set(answered_before_kill), "a finished LLM call was repeated"
    assert len(calls_after_resume) == baseline_calls - len(answered_before_kill)  # only the unfinished ones
    assert len(answered_before_kill) + len(calls_after_resume) == baseline_calls
    summary = json.loads(resumed.stdout)
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert summary["accepted"] == baseline_summary["accepted"]
    assert summary["chunks_processed"] == int(CHUNKS)
    assert (tmp_path / "run" / "report.json").is_file()
    assert not (tmp_path / "run" / "live").exists()  # the finished dataset holds every sample now
    # the same samples land in the same splits as the uninterrupted run, and every paid call is counted
    assert summary["splits"] == baseline_summary["splits"]
    for split in baseline_summary["splits"]:
        assert _ids(tmp_path / "run", split) == _ids(tmp_path / "base", split)
    paid = summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"]
    assert paid == baseline_calls

    # resuming a finished run changes nothing: it stays finished, no call is made, the summary is the same
    with FakeOpenAIServer() as idle:
        again = _cli("build", "--resume", "killed-run", "--json")
        assert again.returncode == 0, again.stderr
        assert idle.requests == []
    assert json.loads(again.stdout)["splits"] == summary["splits"]
    listing = _cli("runs", "--json", timeout=120, check=True)
    assert json.loads(listing.stdout)[0]["status"] == "finished"


def _ids(out: Path, split: str) -> list[str]:
    lines = (out / "provenance" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted(json.loads(line)["sample_id"] for line in lines)


def test_resuming_an_unknown_run_says_how_to_find_runs(tmp_path: Path) -> None:
    result = _cli("build", "--resume", "nope", timeout=120)
    assert result.returncode == 2
    assert "ftds-agent runs" in result.stderr


def test_a_run_from_an_older_build_graph_is_refused_with_a_way_forward(tmp_path: Path) -> None:
    from ftds.agents.runs import RunStore
    from ftds.tools.config import load_settings

    settings = load_settings()
    # what version 1 (the stage-barrier graph) wrote: the settings snapshot without a graph version
    RunStore(settings.runs_dir).create(
        "old-run", "law", [str(tmp_path)], str(tmp_path / "out"), settings.model_dump(mode="json")
    )
    result = _cli("build", "--resume", "old-run", timeout=120)
    assert result.returncode == 2
    assert "older version of ftds" in result.stderr and "Traceback" not in result.stderr
