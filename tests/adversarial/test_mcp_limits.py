"""Issue 13 item 5: every free-text MCP argument is bounded. An oversized one is refused before any work,
with an error that states the limit and what to do; every limit is in the tool's input schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ftds.server import limits
from ftds.server.app import create_server
from ftds.tools.config import load_settings
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

PASSAGE_20_MB = "第一条 数据安全。" * (20 * 1024 * 1024 // 25 + 1)  # 25 bytes in UTF-8


async def test_a_20_mb_passage_to_generate_qa_is_refused_with_the_limit_and_advice(tmp_path: Path) -> None:
    assert len(PASSAGE_20_MB.encode()) >= 20 * 1024 * 1024
    with FakeOpenAIServer() as fake:
        settings = load_settings(server={"roots": [str(tmp_path)]}, llm=fake_llm_overrides(fake))
        async with Client(create_server(settings)) as client:
            generated = await client.call_tool("generate_qa", {"text": PASSAGE_20_MB})
            critiqued = await client.call_tool(
                "critique_qa", {"text": "第一条 数据安全。", "pairs": [{"question": "q", "answer": PASSAGE_20_MB}]}
            )
        assert fake.requests == []  # refused before anything reached the model
    for result in (generated, critiqued):
        text = result.content[0].text
        assert result.is_error and len(text) < 2000
        assert f"{limits.MAX_PASSAGE_CHARS:,}" in text
    assert "load_literature" in generated.content[0].text  # what to do: chunk it first


def _bounded(schema: dict[str, Any], where: str, unbounded: list[str]) -> None:
    kinds = [schema, *schema.get("anyOf", [])]
    for kind in kinds:
        if "$ref" in kind:
            continue
        if kind.get("type") == "string" and "enum" not in kind and "const" not in kind and "maxLength" not in kind:
            unbounded.append(where)
        if kind.get("type") == "array":
            if "maxItems" not in kind:
                unbounded.append(f"{where}[]")
            _bounded(kind.get("items", {}), f"{where}[]", unbounded)
        if kind.get("type") == "object":
            if "additionalProperties" in kind and "maxProperties" not in kind:
                unbounded.append(f"{where}{{}}")
            if isinstance(kind.get("additionalProperties"), dict):
                _bounded(kind["additionalProperties"], f"{where}{{}}", unbounded)
            for name, prop in kind.get("properties", {}).items():
                _bounded(prop, f"{where}.{name}", unbounded)


async def test_every_string_list_and_map_argument_of_every_tool_has_a_bound_in_its_schema(tmp_path: Path) -> None:
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        tools = (await client.list_tools()).tools
    unbounded: list[str] = []
    for tool in tools:
        schema = tool.input_schema
        defs = schema.get("$defs", {})
        for name, prop in schema["properties"].items():
            _bounded(prop, f"{tool.name}.{name}", unbounded)
        for def_name, definition in defs.items():
            _bounded(definition, f"{tool.name}.${def_name}", unbounded)
    assert unbounded == []


def _oversized(schema: dict[str, Any]) -> Any:
    kind = next((k for k in [schema, *schema.get("anyOf", [])] if "maxLength" in k or "maxItems" in k), None)
    if kind is None:
        return None
    if "maxLength" in kind:
        return "x" * (kind["maxLength"] + 1)
    return ["x"] * (kind["maxItems"] + 1)


async def test_each_bounded_argument_refuses_one_past_its_limit_with_a_sentence(tmp_path: Path) -> None:
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        tools = (await client.list_tools()).tools
        checked = 0
        for tool in tools:
            for name, prop in tool.input_schema["properties"].items():
                value = _oversized(prop)
                if value is None or (isinstance(value, list) and "enum" in str(prop)):
                    continue
                result = await client.call_tool(tool.name, {name: value})
                text = result.content[0].text
                assert result.is_error, (tool.name, name)
                assert "at most" in text and name in text and "Traceback" not in text, (tool.name, name, text[:300])
                checked += 1
    assert checked >= 30


async def test_workflow_prompt_arguments_are_bounded_too(tmp_path: Path) -> None:
    from mcp.shared.exceptions import MCPError

    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        fine = await client.get_prompt("build_law_qa_dataset", {"paths": "statutes/"})
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("build_law_qa_dataset", {"paths": "x" * (limits.MAX_PATH_CHARS + 1)})
    assert "statutes/" in fine.messages[0].content.text
    assert f"{limits.MAX_PATH_CHARS:,}" in str(caught.value) and len(str(caught.value)) < 2000


async def test_an_oversized_http_request_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Over HTTP the bound comes first at the door: a body past MAX_REQUEST_BYTES gets 413 with the limit,
    whether it declares its length or streams it in chunks, and the server keeps answering."""
    import httpx2

    from tests.server.test_server import _free_port, _serve_http, _wait_for_port

    port = _free_port()
    process = _serve_http(tmp_path, port, {})
    try:
        await _wait_for_port(port)
        url = f"http://127.0.0.1:{port}/mcp"
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        big = b"x" * (limits.MAX_REQUEST_BYTES + 1)

        async def chunks():
            for start in range(0, len(big), 1 << 20):
                yield big[start : start + (1 << 20)]

        async with httpx2.AsyncClient(timeout=60) as http:
            declared = await http.post(url, content=big, headers=headers)
            streamed = await http.post(url, content=chunks(), headers=headers)
            alive = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={**headers, "Mcp-Session-Id": "none"},
            )
        assert declared.status_code == 413 and f"{limits.MAX_REQUEST_BYTES:,}" in declared.json()["error"]
        assert streamed.status_code == 413
        assert alive.status_code < 500
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_nested_studio_arguments_and_edit_values_are_bounded_too(tmp_path: Path) -> None:
    """The schema can bound an edit payload only by its entry count: its string values (nested in turns too)
    are checked by the tool's argument type, like the fields of the nested filter and bulk operation."""
    too_long = "答" * (limits.MAX_PAIR_TEXT_CHARS + 1)
    edits = [
        {"answer": too_long},
        {"turns": [{"role": "assistant", "content": too_long}]},
        {f"field{i}": "x" for i in range(limits.MAX_EDIT_FIELDS + 1)},
    ]
    ops = [
        {"kind": "replace", "find": too_long, "replace": "x"},
        {"kind": "decide", "decision": "reject", "reason": "x" * (limits.MAX_NOTE_CHARS + 1)},
        {"kind": "relabel", "label": "x", "filter": {"query": "x" * (limits.MAX_QUERY_CHARS + 1)}},
        {"kind": "relabel", "label": "x", "filter": {"sample_ids": ["s"] * (limits.MAX_IDS + 1)}},
    ]
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        results = [
            await client.call_tool(
                "studio_update_sample", {"dataset": "d", "sample_id": "s", "fields": fields, "reviewer": "ann"}
            )
            for fields in edits
        ]
        results += [await client.call_tool("studio_bulk_preview", {"dataset": "d", "op": op}) for op in ops]
    for result in results:
        text = result.content[0].text
        assert result.is_error and "at most" in text and len(text) < 3000 and "Traceback" not in text, text[:300]
    assert not (tmp_path / "ftds-studio").exists()  # refused before the workspace was opened
