"""Issue 13 item 4: a credential written into a base URL (``http://user:KEY@host/v1``, ``?api_key=KEY``) is
redacted wherever a URL is shown or stored — report.json, the run registry, checkpoints, stderr, errors —
while a resumed run still reaches the endpoint with the real URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from ftds.agents import runner
from ftds.server.app import create_server
from ftds.tools.config import load_settings
from ftds.tools.redact import redact_data, redact_text, redact_url
from tests.fakes.fake_openai_server import FakeOpenAIServer

KEY = "sk-LEAKED-KEY-4242"
LAW = "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，制定本法。\n"


def _with_key(base_url: str) -> str:
    return base_url.replace("http://", f"http://ftds-user:{KEY}@")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://user:{KEY}@host:8000/v1", "http://***@host:8000/v1"),
        (f"https://{KEY}@api.example.com/v1", "https://***@api.example.com/v1"),
        (f"https://api.example.com/v1?api_key={KEY}&model=x", "https://api.example.com/v1?api_key=***&model=x"),
        (f"https://h/v1?x=1&access_token={KEY}#frag", "https://h/v1?x=1&access_token=***#frag"),
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url_hides_userinfo_and_secret_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # idempotent


def test_redact_text_and_data_find_urls_anywhere() -> None:
    message = f"could not connect to http://u:{KEY}@127.0.0.1:9/v1/fake (and https://x/v1?key={KEY})."
    assert KEY not in redact_text(message) and "http://***@127.0.0.1:9/v1/fake" in redact_text(message)
    data = {"llm": {"base_url": f"http://u:{KEY}@h/v1", "model": "m"}, "list": [f"https://h?token={KEY}"]}
    assert KEY not in json.dumps(redact_data(data)) and redact_data(data)["llm"]["model"] == "m"


def _files_text(*folders: Path) -> str:
    return "".join(
        p.read_bytes().decode("utf-8", errors="replace") for f in folders for p in f.rglob("*") if p.is_file()
    )


def test_a_cli_build_with_a_key_in_the_base_url_stores_and_prints_it_nowhere(tmp_path: Path) -> None:
    (tmp_path / "law.md").write_text(LAW * 4, encoding="utf-8")
    env = {**os.environ, "FTDS_LLM__CONCURRENCY": "1"}
    with FakeOpenAIServer() as server:
        done = subprocess.run(
            [sys.executable, "-m", "ftds.agents.cli", "build", "law.md", "--out", "out", "--max-chunks", "1",
             "--backend", "openai", "--model", "fake", "--base-url", _with_key(server.base_url), "--json"],
            capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert server.answered, "the run must have reached the endpoint through the real URL"
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    assert "***@127.0.0.1" in report["models"]["generator"]
    everything = done.stdout + done.stderr + _files_text(tmp_path / "out", tmp_path / "runs", tmp_path / "cache")
    assert (tmp_path / "runs" / "checkpoints.sqlite").is_file()
    assert KEY not in everything


def test_a_failing_endpoint_with_a_key_in_the_url_names_it_redacted(tmp_path: Path) -> None:
    (tmp_path / "law.md").write_text(LAW * 4, encoding="utf-8")
    env = {**os.environ, "FTDS_LLM__MAX_RETRIES": "0", "FTDS_LLM__TIMEOUT_S": "2"}
    url = f"http://ftds-user:{KEY}@127.0.0.1:{_closed_port()}/v1?api_key={KEY}"
    done = subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", "build", "law.md", "--out", "out", "--max-chunks", "1",
         "--backend", "openai", "--model", "fake", "--base-url", url],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    everything = (
        done.stdout + done.stderr + _files_text(tmp_path / "runs", *[p for p in [tmp_path / "out"] if p.exists()])
    )
    assert "127.0.0.1" in everything and KEY not in everything


async def test_mcp_results_and_errors_carry_no_url_credential(tmp_path: Path) -> None:
    with FakeOpenAIServer() as fake:
        llm = {"backend": "openai", "model": "fake", "base_url": _with_key(fake.base_url), "max_retries": 0}
        async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}, llm=llm))) as client:
            ok = await client.call_tool("generate_qa", {"text": LAW, "count": 1})
    closed = {**llm, "base_url": _with_key(f"http://127.0.0.1:{_closed_port()}/v1"), "timeout_s": 2}
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}, llm=closed))) as client:
        failed = await client.call_tool("generate_qa", {"text": LAW, "count": 1})
        built = await client.call_tool("build_dataset", {"paths": ["."], "out_dir": "ds", "max_chunks": 1})
        runs = await client.call_tool("list_runs", {})
    assert not ok.is_error and ok.structured_content["model"].startswith("http://***@127.0.0.1")
    shown = json.dumps([r.model_dump(mode="json") for r in (ok, failed, built, runs)], ensure_ascii=False)
    assert KEY not in shown


def test_a_resumed_run_takes_the_credentialed_url_from_the_current_config(tmp_path: Path) -> None:
    real = f"http://ftds-user:{KEY}@127.0.0.1:{_closed_port()}/v1"
    settings = load_settings(llm={"backend": "openai", "model": "fake", "base_url": real})
    (tmp_path / "law.md").write_text(LAW, encoding="utf-8")
    record, _ = runner.start(settings, [tmp_path / "law.md"], tmp_path / "out", lambda *_: None, "cred-run")
    assert record.settings["llm"]["base_url"] == "http://***@127.0.0.1" + real.split("127.0.0.1")[1]
    assert KEY.encode() not in (settings.runs_dir / "registry.sqlite").read_bytes()

    with pytest.raises(runner.RunError) as missing:
        runner.prepare_resume(settings.runs_dir, "cred-run", lambda *_: None, current=load_settings())
    assert "--base-url" in str(missing.value) and "***@127.0.0.1" in str(missing.value)
    assert KEY not in str(missing.value)
    other = load_settings(llm={"backend": "openai", "base_url": f"http://u:{KEY}@other.invalid/v1"})
    with pytest.raises(runner.RunError, match="--base-url"):
        runner.prepare_resume(settings.runs_dir, "cred-run", lambda *_: None, current=other)

    _, context = runner.prepare_resume(settings.runs_dir, "cred-run", lambda *_: None, current=settings)
    assert context.settings.llm.base_url == real


def test_cli_resume_without_the_credentialed_url_says_how_to_give_it(tmp_path: Path) -> None:
    real = f"http://ftds-user:{KEY}@127.0.0.1:{_closed_port()}/v1"
    settings = load_settings(llm={"backend": "openai", "model": "fake", "base_url": real})
    (tmp_path / "law.md").write_text(LAW, encoding="utf-8")
    runner.start(settings, [tmp_path / "law.md"], tmp_path / "out", lambda *_: None, "cli-cred-run")
    done = subprocess.run(
        [sys.executable, "-m", "ftds.agents.cli", "build", "--resume", "cli-cred-run"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--base-url" in done.stderr and "***@127.0.0.1" in done.stderr and KEY not in done.stderr
