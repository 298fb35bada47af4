"""The studio's MCP tools through a real in-memory MCP client session, and the MCP Apps review view."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings

STUDIO_TOOLS = {
    "studio_import",
    "studio_list_datasets",
    "studio_review",
    "studio_get_sample",
    "studio_update_sample",
    "studio_decide",
    "studio_undo",
    "studio_bulk_preview",
    "studio_bulk_apply",
    "studio_edit_labels",
    "studio_validate",
    "studio_export",
}


def _server(root: Path):
    return create_server(load_settings(server={"roots": [str(root)]}))


async def test_the_review_tool_points_at_a_ui_resource_the_host_can_render(tmp_path: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        page = await client.read_resource("ui://ftds/review")
    assert set(tools) >= STUDIO_TOOLS
    assert tools["studio_review"].meta == {"ui": {"resourceUri": "ui://ftds/review"}}
    for name in STUDIO_TOOLS:
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint is not None and tools[name].output_schema
    assert resources["ui://ftds/review"].mime_type == "text/html;profile=mcp-app"
    html = page.contents[0].text  # type: ignore[union-attr]
    assert "ui/initialize" in html and "tools/call" in html and "studio_decide" in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch: it runs in a sandboxed frame


async def test_a_chat_assistant_can_review_a_build_through_the_tools(tmp_path: Path, build_folder: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        imported = await client.call_tool("studio_import", {"path": str(build_folder), "name": "law"})
        assert imported.structured_content["added"] == 15
        review = await client.call_tool(
            "studio_review", {"dataset": "law", "filter": {"label": "数据安全"}, "sort": "score", "limit": 5}
        )
        page = review.structured_content["page"]
        assert page["total"] == 8 and len(page["rows"]) == 5
        first = page["rows"][0]["sample_id"]
        detail = await client.call_tool("studio_get_sample", {"dataset": "law", "sample_id": first})
        assert detail.structured_content["sample"]["sample_id"] == first
        edited = await client.call_tool(
            "studio_update_sample",
            {"dataset": "law", "sample_id": first, "fields": {"answer": "改写"}, "reviewer": "assistant"},
        )
        assert edited.structured_content["reviewer"] == "assistant"
        rejected = await client.call_tool(
            "studio_decide",
            {"dataset": "law", "sample_id": "s003", "decision": "reject", "reviewer": "ann", "reason": "off topic"},
        )
        assert rejected.structured_content["decision"] == "reject"
        no_reason = await client.call_tool(
            "studio_decide", {"dataset": "law", "sample_id": "s004", "decision": "reject", "reviewer": "ann"}
        )
        assert no_reason.is_error and "reason" in no_reason.content[0].text  # type: ignore[union-attr]
        op = {"kind": "relabel", "filter": {"label": "总则"}, "label": "总则/定义/细则"}
        plan = await client.call_tool("studio_bulk_preview", {"dataset": "law", "op": op})
        assert plan.structured_content["samples"] == 4
        applied = await client.call_tool(
            "studio_bulk_apply",
            {"dataset": "law", "op": op, "fingerprint": plan.structured_content["fingerprint"], "reviewer": "ann"},
        )
        assert applied.structured_content["samples"] == 4
        undone = await client.call_tool("studio_undo", {"dataset": "law", "reviewer": "ann"})
        assert undone.structured_content["samples"] == 4
        renamed = await client.call_tool(
            "studio_edit_labels",
            {"dataset": "law", "action": "rename", "path": "数据安全", "new_name": "安全", "reviewer": "ann"},
        )
        assert renamed.structured_content["samples"] == 8
        valid = await client.call_tool("studio_validate", {"dataset": "law", "format": "openai"})
        assert valid.structured_content["ok"]
        exported = await client.call_tool("studio_export", {"dataset": "law", "out_dir": "out", "format": "alpaca"})
        outside = await client.call_tool("studio_import", {"path": "/etc/passwd"})
    assert exported.structured_content["counts"] == {"train": 9, "validation": 2}
    lines = (tmp_path / "out" / "provenance" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    edited_record = next(json.loads(line) for line in lines if json.loads(line)["sample_id"] == first)
    assert edited_record["studio"]["reviewer"] in ("assistant", "ann") and edited_record["answer"] == "改写"
    assert outside.is_error and "outside the folders" in outside.content[0].text  # type: ignore[union-attr]
    assert (tmp_path / "ftds-studio" / "studio.sqlite").is_file()  # the default workspace inside the root
