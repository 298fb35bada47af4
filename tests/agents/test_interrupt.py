"""Ctrl-C stops a build cleanly, says how to resume, and the resumed run completes."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import fake_llm_flags
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig


def test_ctrl_c_stops_cleanly_and_prints_how_to_resume(tmp_path: Path, law_file: Path) -> None:
    victim: dict[str, Any] = {}

    def interrupt_on_third_call(number: int) -> None:
        if number == 3:
            os.kill(victim["process"].pid, signal.SIGINT)

    env = {**os.environ, "FTDS_LLM__CONCURRENCY": "1"}
    with FakeOpenAIServer(FakeServerConfig(on_request=interrupt_on_third_call, latency_s=0.05)) as server:
        llm = fake_llm_flags(server)
        victim["process"] = subprocess.Popen(
            [
                sys.executable,
                "-c",
                # Ctrl-C as on a terminal: a test run started in the background (nohup, `cmd &` in a script)
                # passes SIGINT down as ignored, and a child that ignores it would never be interrupted
                "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "runpy.run_module('ftds.agents.cli', run_name='__main__', alter_sys=True)",
                "build",
                str(law_file),
                "--out",
                str(tmp_path / "o"),
                "--max-chunks",
                "4",
                "--run-id",
                "ctrl-c",
                *llm,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        _, stderr = victim["process"].communicate(timeout=300)
        assert victim["process"].returncode == 130, stderr
        assert "ftds-agent build --resume ctrl-c" in stderr
        assert "Traceback" not in stderr

        runs = subprocess.run(
            [sys.executable, "-m", "ftds.agents.cli", "runs", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        assert json.loads(runs.stdout)[0]["status"] == "interrupted"

        resumed = subprocess.run(
            [sys.executable, "-m", "ftds.agents.cli", "build", "--resume", "ctrl-c", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["chunks_processed"] == 4
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]


def test_a_large_run_over_the_whole_statute_corpus_accounts_for_every_item(tmp_path: Path, corpus: Path) -> None:
    env = {**os.environ, "FTDS_LLM__CONCURRENCY": "8"}
    config = FakeServerConfig(fault_rate=0.3, seed=11, retry_after_s=0.01, timeout_sleep_s=2.0)
    with FakeOpenAIServer(config) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ftds.agents.cli",
                "build",
                str(corpus / "law_zh"),
                "--out",
                str(tmp_path / "o"),
                "--max-chunks",
                "60",
                *fake_llm_flags(server),
                "--json",
            ],
            capture_output=True,
            text=True,
            env={**env, "FTDS_LLM__TIMEOUT_S": "1", "FTDS_LLM__MAX_RETRIES": "1"},
            timeout=600,
            check=False,
        )
    assert result.returncode in (0, 3), result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["chunks_selected"] == 60 and summary["files_loaded"] == 8
    assert summary["chunks_selected"] == summary["chunks_processed"] + len(summary["chunks_failed"])
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert summary["accepted"] > 100
    assert sum(summary["rejection_reasons"].values()) == summary["rejected"]
    assert sum(summary["failure_reasons"].values()) == summary["failed"] + len(summary["chunks_failed"])
    assert summary["split_grouped_by"] == "source"
