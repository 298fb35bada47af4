"""The MCP server through a real MCP client session: in memory, and over stdio in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

TOOLS = {
    "load_literature",
    "generate_qa",
    "convert_format",
    "split_dataset",
    "validate_dataset",
    "embed_dedupe",
    "export_dataset",
}


def _server(root: Path, **llm: object):
    return create_server(load_settings(server={"roots": [str(root)]}, llm=llm or None))


async def test_tools_are_listed_with_schemas_and_all_four_annotations(tmp_path: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) >= TOOLS
    for tool in tools.values():
        assert tool.output_schema is not None
        annotations = tool.annotations
        assert annotations is not None and annotations.title
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(annotations, hint) is not None, f"{tool.name} lacks {hint}"
        assert tool.description


async def test_load_literature_pages_chunks_with_provenance(tmp_path: Path, law_file: Path) -> None:
    (tmp_path / "law.md").write_text(law_file.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "empty.md").write_bytes(b"")
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool(
            "load_literature", {"paths": ["."], "domain": "law", "limit": 3, "out_path": "chunks.jsonl"}
        )
    data = result.structured_content
    assert not result.is_error and data is not None
    assert len(data["chunks"]) == 3 and data["next_offset"] == 3
    assert data["chunks"][0]["provenance"]["source"] == "law.md"
    statuses = {f["source"]: f["status"] for f in data["files"]}
    assert statuses == {"law.md": "loaded", "empty.md": "failed"}
    assert len((tmp_path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()) == data["total_chunks"]


@pytest.mark.parametrize("escape", ["../outside.json", "/etc/passwd", "link/secret.json"])
async def test_paths_outside_the_roots_are_refused(tmp_path: Path, escape: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("[]")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.json").write_text("[]")
    (root / "link").symlink_to(tmp_path / "elsewhere")
    async with Client(_server(root)) as client:
        result = await client.call_tool("convert_format", {"input_path": escape, "to": "alpaca", "out_path": "x.jsonl"})
    assert result.is_error
    assert "outside the folders" in result.content[0].text


async def test_convert_and_split_through_mcp(tmp_path: Path, corpus: Path) -> None:
    data = json.loads((corpus / "datasets" / "alpaca_zh_demo.json").read_text(encoding="utf-8"))
    data.append({"instruction": "", "output": ""})
    (tmp_path / "in.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    async with Client(_server(tmp_path)) as client:
        converted = await client.call_tool(
            "convert_format", {"input_path": "in.json", "to": "openai", "out_path": "out.jsonl"}
        )
        split = await client.call_tool(
            "split_dataset",
            {"input_path": "out.jsonl", "out_dir": "splits", "train": 0.8, "validation": 0.1, "test": 0.1},
        )
        bad = await client.call_tool(
            "split_dataset",
            {"input_path": "out.jsonl", "out_dir": "s2", "train": 0.8, "validation": 0.3, "test": 0.1},
        )
    assert converted.structured_content["converted"] == 1000
    assert converted.structured_content["error_count"] == 1
    assert split.structured_content["counts"] == {"train": 800, "validation": 100, "test": 100, "full": 1000}
    assert bad.is_error and "sum to 1" in bad.content[0].text


async def test_generate_qa_through_mcp_with_the_fake_endpoint(tmp_path: Path, law_file: Path) -> None:
    text = law_file.read_text(encoding="utf-8")
    passage = text[text.index("第二十一条") : text.index("第二十二条")]
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with FakeOpenAIServer() as fake:
        async with Client(_server(tmp_path, **fake_llm_overrides(fake))) as client:
            result = await client.call_tool("generate_qa", {"text": passage, "count": 2}, progress_callback=on_progress)
    data = result.structured_content
    assert not result.is_error, result.content
    assert data["generated"] == 2
    assert len(data["accepted"]) + len(data["rejected"]) + len(data["failed"]) == 2
    assert data["accepted"][0]["review"]["decision"] == "accept"
    assert progress and progress[-1] == 2


async def test_missing_api_key_is_an_actionable_tool_error(tmp_path: Path) -> None:
    server = _server(
        tmp_path,
        backend="openai",
        model="x",
        base_url="https://api.example.invalid/v1",
        api_key_env="ABSENT_KEY",
    )
    async with Client(server) as client:
        result = await client.call_tool("generate_qa", {"text": "第一条 为了规范数据处理活动，制定本法。"})
    assert result.is_error
    assert "ABSENT_KEY" in result.content[0].text


async def test_stdio_server_in_a_subprocess_answers_a_real_client(tmp_path: Path, corpus: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTDS_")}
    env["FTDS_SERVER__ROOTS"] = json.dumps([str(corpus)])
    # The installed executable, as MCP clients start it (its launcher dispatches `serve` before the CLI).
    ftds_agent = str(Path(sys.executable).with_name("ftds-agent"))
    params = StdioServerParameters(command=ftds_agent, args=["serve"], env=env, cwd=str(tmp_path))
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "load_literature", {"paths": [str(corpus / "law_en" / "US_Constitution.md")], "limit": 1}
        )
    assert tools >= TOOLS
    assert result.structured_content["files"][0]["status"] == "loaded"
    assert result.structured_content["chunks"][0]["provenance"]["heading_path"]


async def test_build_dataset_streams_progress_and_the_run_is_listed_and_readable(
    tmp_path: Path, law_file: Path
) -> None:
    (tmp_path / "law.md").write_text(law_file.read_text(encoding="utf-8"), encoding="utf-8")
    progress: list[tuple[float, float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    with FakeOpenAIServer() as fake:
        async with Client(_server(tmp_path, **fake_llm_overrides(fake))) as client:
            built = await client.call_tool(
                "build_dataset", {"paths": ["law.md"], "out_dir": "ds", "max_chunks": 3}, progress_callback=on_progress
            )
            data = built.structured_content
            assert not built.is_error, built.content
            run_id = data["run_id"]
            runs = await client.call_tool("list_runs", {})
            one = await client.call_tool("get_run", {"run_id": run_id})
            report = await client.read_resource(f"ftds://runs/{run_id}/report")
            files = await client.read_resource(f"ftds://runs/{run_id}/dataset")
            missing = await client.call_tool("get_run", {"run_id": "nope"})
    assert data["status"] == "finished" and data["summary"]["chunks_processed"] == 3
    assert (tmp_path / "ds" / "alpaca" / "train.jsonl").is_file()
    assert progress[-1] == (3.0, 3.0)
    assert [r["run_id"] for r in runs.structured_content["result"]] == [run_id]
    assert one.structured_content["status"] == "finished"
    assert "# ftds run" in report.contents[0].text
    assert "alpaca/train" in json.loads(files.contents[0].text)
    assert missing.is_error and "list_runs" in missing.content[0].text


async def test_build_dataset_refuses_paths_outside_the_roots(tmp_path: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool("build_dataset", {"paths": ["/etc"], "out_dir": "ds"})
    assert result.is_error and "outside the folders" in result.content[0].text


def _serve_http(tmp_path: Path, port: int, env_extra: dict[str, str], host: str = "127.0.0.1"):
    import subprocess

    env = {**os.environ, **env_extra, "FTDS_SERVER__ROOTS": json.dumps([str(tmp_path)])}
    return subprocess.Popen(
        [sys.executable, "-m", "ftds.agents.cli", "serve", "--transport", "http", "--host", host, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_for_port(port: int) -> None:
    import asyncio

    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("HTTP server did not start")


async def test_http_transport_requires_the_bearer_token_when_one_is_set(tmp_path: Path) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    process = _serve_http(tmp_path, port, {"FTDS_MCP_TOKEN": "s3cret-token"})
    try:
        await _wait_for_port(port)
        url = f"http://127.0.0.1:{port}/mcp"
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"}) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools >= TOOLS
        async with httpx2.AsyncClient() as http:
            denied = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert denied.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_http_on_a_public_address_without_a_token_is_refused(tmp_path: Path) -> None:
    process = _serve_http(tmp_path, _free_port(), {}, host="0.0.0.0")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "FTDS_MCP_TOKEN" in stderr and "refusing" in stderr


async def test_load_literature_reports_progress_per_file_and_reads_every_format(tmp_path: Path, corpus: Path) -> None:
    for name in ("multi_page.pdf", "word_sample.docx", "limitation_period_wiki.html"):
        (tmp_path / name).write_bytes((corpus / "docs" / name).read_bytes())
    (tmp_path / "scan.pdf").write_bytes((corpus / "hostile" / "ocr_test_scanned.pdf").read_bytes())
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool(
            "load_literature",
            {"paths": ["."], "strategy": "heading", "overlap_chars": 50},
            progress_callback=on_progress,
        )
    data = result.structured_content
    assert not result.is_error and data is not None
    assert [u[0] for u in updates] == [1, 2, 3, 4] and {u[1] for u in updates} == {4}
    assert "failed: scan.pdf" in [u[2] for u in updates]
    statuses = {f["source"]: (f["status"], f["reason"]) for f in data["files"]}
    assert statuses["scan.pdf"][0] == "failed" and "OCR" in statuses["scan.pdf"][1]
    assert {s for s, _ in statuses.values()} == {"loaded", "failed"}
    pdf_chunk = next(c for c in data["chunks"] if c["provenance"]["source"] == "multi_page.pdf")
    assert pdf_chunk["provenance"]["page"] == 1


async def test_load_literature_token_strategy_without_tokenizer_is_an_actionable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tokenizer(model_key: str, cache_dir: object = None) -> object:
        raise ValueError("the token chunking strategy needs llama-cpp-python; install ftds-agent[embedded]")

    monkeypatch.setattr("ftds.tools.ingest.chunking.embedded_tokenizer", no_tokenizer)
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool("load_literature", {"paths": ["."], "strategy": "token"})
    assert result.is_error and "install" in str(result.content[0])


async def test_prompt_templates_are_readable_resources_and_workflow_prompts_are_listed(tmp_path: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        names = (await client.read_resource("ftds://prompts")).contents[0].text.splitlines()
        template = await client.read_resource("ftds://prompts/qa_generate.zh.md")
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("build_law_qa_dataset", {"paths": "statutes/", "target": "50"})
    assert "qa_generate.zh.md" in names and "domains.yaml" in names
    assert 'version: "qa_generate.zh@' in template.contents[0].text
    assert {"build_law_qa_dataset", "convert_for_llamafactory"} <= set(prompts)
    text = rendered.messages[0].content.text
    assert "statutes/" in text and "build_dataset" in text


async def test_the_clients_roots_replace_the_configured_ones_when_it_sends_them(tmp_path: Path) -> None:
    from mcp.types import ListRootsResult, Root

    configured, workspace = tmp_path / "configured", tmp_path / "workspace"
    configured.mkdir()
    workspace.mkdir()
    records = json.dumps([{"instruction": "q", "input": "", "output": "a"}])
    (workspace / "data.json").write_text(records)
    (configured / "data.json").write_text(records)

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=workspace.as_uri(), name="workspace")])

    async with Client(_server(configured), mode="legacy", list_roots_callback=list_roots) as client:
        inside = await client.call_tool(
            "convert_format",
            {"input_path": str(workspace / "data.json"), "to": "openai", "out_path": str(workspace / "out.jsonl")},
        )
        outside = await client.call_tool(
            "convert_format",
            {"input_path": str(configured / "data.json"), "to": "openai", "out_path": str(workspace / "o.jsonl")},
        )
    assert not inside.is_error, inside.content
    assert outside.is_error and "outside the folders" in outside.content[0].text


# Libraries the server must not import before a tool needs them: each costs 15 ms to seconds of start-up,
# and MCP clients start the server for every session.
DEFERRED_IMPORTS = [
    "torch",
    "chromadb",
    "llama_cpp",
    "sentence_transformers",
    "transformers",
    "datasets",
    "huggingface_hub",
    "langgraph",
    "openai",
    "httpx",
    "typer",
    "numpy",
    "pandas",
    "pyarrow",
    "trafilatura",
    "pypdf",
    "docx",
    "yaml",
    "json_repair",
    "charset_normalizer",
    "diskcache",
    "sqlalchemy",
]


def test_server_start_up_defers_every_heavy_import() -> None:
    script = (
        "import sys\n"
        "from ftds.server.main import build_parser\n"
        "from ftds.server.app import create_server\n"
        "from ftds.tools.config import load_settings\n"
        "build_parser('ftds-agent serve').parse_args([])\n"
        "create_server(load_settings())\n"
        f"print(' '.join(m for m in {DEFERRED_IMPORTS!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == [], f"imported at start-up: {done.stdout.strip()}"


def test_serve_options_are_checked_before_anything_starts(tmp_path: Path) -> None:
    ftds_agent = str(Path(sys.executable).with_name("ftds-agent"))
    bad = subprocess.run([ftds_agent, "serve", "--transport", "ws"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'ws'" in bad.stderr
    missing = subprocess.run(
        [ftds_agent, "serve", "--config", str(tmp_path / "absent.toml")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "absent.toml" in missing.stderr and "--config" in missing.stderr
