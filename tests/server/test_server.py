"""The MCP server through a real MCP client session: in memory, and over stdio in a subprocess."""

import json
import os
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
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ftds.agents.cli", "serve"], env=env, cwd=str(tmp_path)
    )
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "load_literature", {"paths": [str(corpus / "law_en" / "US_Constitution.md")], "limit": 1}
        )
    assert tools >= TOOLS
    assert result.structured_content["files"][0]["status"] == "loaded"
    assert result.structured_content["chunks"][0]["provenance"]["heading_path"]
