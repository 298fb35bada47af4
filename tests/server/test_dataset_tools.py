"""The dataset MCP tools through a real MCP client session on real LLaMA-Factory files."""

import json
from pathlib import Path

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings


def _server(root: Path):
    return create_server(load_settings(server={"roots": [str(root)]}))


async def test_validate_dedupe_split_export_through_mcp(tmp_path: Path, corpus: Path) -> None:
    data = json.loads((corpus / "datasets" / "glaive_toolcall_zh_demo.json").read_text(encoding="utf-8"))
    data.append({"conversations": [{"from": "gpt", "value": "out of turn"}]})
    (tmp_path / "in.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    async with Client(_server(tmp_path)) as client:
        checked = await client.call_tool("validate_dataset", {"input_path": "in.json"})
        deduped = await client.call_tool(
            "embed_dedupe", {"input_path": "in.json", "out_path": "dedup.jsonl", "methods": ["exact", "near"]}
        )
        converted = await client.call_tool(
            "convert_format", {"input_path": "dedup.jsonl", "to": "openai", "out_path": "openai.jsonl"}
        )
        split = await client.call_tool("split_dataset", {"input_path": "openai.jsonl", "out_dir": "splits"})
        exported = await client.call_tool(
            "export_dataset",
            {"input_path": "splits", "out_dir": "export", "format": "openai", "openai_finetune": True, "name": "tools"},
        )
        missing = await client.call_tool("validate_dataset", {"input_path": "nope.json"})
    check = checked.structured_content
    assert check["total"] == 301 and check["valid"] == 300 and not check["ok"]
    assert check["errors"][0]["index"] == 300 and "Invalid role tag" in check["errors"][0]["error"]
    dedupe = deduped.structured_content
    assert dedupe["kept"] + dedupe["removed"] == 301 and dedupe["clusters"] > 0
    report = json.loads(Path(dedupe["report"]).read_text(encoding="utf-8"))
    assert len(report["clusters"]) == dedupe["clusters"]
    assert converted.structured_content["error_count"] == 1  # the out-of-turn record, with its reason
    counts = split.structured_content["counts"]
    assert counts["full"] == counts["train"] + counts["validation"] + counts["test"]
    assert "leakage" in split.structured_content["files"]
    export = exported.structured_content
    assert export["counts"]["train"] == counts["train"] and not export["invalid"]
    first = json.loads((tmp_path / "export" / "openai" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(first) <= {"messages", "tools"}
    assert missing.is_error and "does not exist" in missing.content[0].text


async def test_semantic_dedupe_through_mcp_remembers_survivors_in_the_cache(tmp_path: Path) -> None:
    first = [{"instruction": "什么是个人信息？", "output": "与已识别或者可识别的自然人有关的各种信息。"}]
    later = [
        {"instruction": "什么是个人信息?", "output": "与已识别或者可识别的自然人有关的各种信息"},
        {"instruction": "民事诉讼的管辖法院如何确定？", "output": "依照民事诉讼法关于级别管辖和地域管辖的规定。"},
    ]
    (tmp_path / "a.json").write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(later, ensure_ascii=False), encoding="utf-8")
    async with Client(_server(tmp_path)) as client:
        one = await client.call_tool(
            "embed_dedupe", {"input_path": "a.json", "out_path": "a.out.jsonl", "methods": ["semantic"]}
        )
        two = await client.call_tool(
            "embed_dedupe", {"input_path": "b.json", "out_path": "b.out.jsonl", "methods": ["semantic"]}
        )
    assert one.structured_content["kept"] == 1
    assert Path(one.structured_content["store"]).is_dir()
    assert two.structured_content["kept"] == 1
    assert two.structured_content["cluster_preview"][0]["method"] == "earlier-run"
    kept = json.loads((tmp_path / "b.out.jsonl").read_text(encoding="utf-8"))
    assert kept["instruction"].startswith("民事诉讼")
