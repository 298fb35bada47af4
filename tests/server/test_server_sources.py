"""The dataset source tools through a real in-memory MCP client session, with the network off."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings


def _server(root: Path, offline: bool = True):
    return create_server(load_settings(server={"roots": [str(root)]}, sources={"offline": offline}))


async def test_source_tools_are_listed_as_read_only_open_world_tools(tmp_path: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("search_dataset_sources", "get_dataset_details"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.title
        assert annotations.read_only_hint is True and annotations.open_world_hint is True
        assert annotations.destructive_hint is False and annotations.idempotent_hint is True
        assert tools[name].output_schema is not None


async def test_offline_search_returns_catalog_results_with_licences_and_checks_commercial_use(
    tmp_path: Path, no_network: None
) -> None:
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool("search_dataset_sources", {"query": "中文法律问答", "commercial_use": True})
    data = result.structured_content
    assert not result.is_error and data is not None
    assert data["offline"] is True and data["used_catalog"] is True and data["catalog_version"].startswith("1")
    licences = {r["id"]: r["license"] for r in data["results"]}
    assert licences["ShengbinYue/DISC-Law-SFT"] == "Apache-2.0"
    assert data["license_checks"]["web:thunlp/JEC-QA"]["allowed"] is False
    assert data["license_checks"]["huggingface:ShengbinYue/DISC-Law-SFT"]["allowed"] is True


async def test_online_search_with_registries_unreachable_reports_each_failure(tmp_path: Path, no_network: None) -> None:
    async with Client(_server(tmp_path, offline=False)) as client:
        result = await client.call_tool(
            "search_dataset_sources", {"query": "law", "sources": ["modelscope", "opendatalab"]}
        )
    data = result.structured_content
    assert not result.is_error and data is not None
    assert {f["source"] for f in data["failures"]} == {"modelscope", "opendatalab"}
    assert data["results"]  # the catalog still answers


async def test_details_of_a_local_dataset_load_a_sample_and_convert_it(tmp_path: Path, corpus: Path) -> None:
    (tmp_path / "alpaca.json").write_bytes((corpus / "datasets" / "alpaca_zh_demo.json").read_bytes())
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool(
            "get_dataset_details",
            {"dataset_id": "alpaca.json", "source": "local", "sample_rows": 3, "convert_to": "sharegpt"},
        )
    data = result.structured_content
    assert not result.is_error and data is not None
    assert data["sample"]["rows"] == 3 and data["sample"]["detected_format"] == "alpaca"
    assert data["sample"]["converted"][0]["conversations"][0]["from"] == "human"


async def test_a_local_dataset_outside_the_roots_is_refused(tmp_path: Path, corpus: Path) -> None:
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool(
            "get_dataset_details",
            {"dataset_id": str(corpus / "datasets" / "alpaca_zh_demo.json"), "source": "local", "sample_rows": 1},
        )
    assert result.is_error
    assert "outside the folders" in result.content[0].text  # type: ignore[union-attr]


async def test_details_offline_come_from_the_catalog_and_an_unknown_id_is_an_actionable_error(
    tmp_path: Path, no_network: None
) -> None:
    async with Client(_server(tmp_path)) as client:
        found = await client.call_tool("get_dataset_details", {"dataset_id": "qiaojin/PubMedQA"})
        missing = await client.call_tool("get_dataset_details", {"dataset_id": "nobody/nothing"})
    data = found.structured_content
    assert data is not None and data["details"]["result"]["license"] == "MIT"
    assert any("ethics review" in w for w in data["details"]["result"]["warnings"])
    assert missing.is_error and "not in the shipped catalog" in missing.content[0].text  # type: ignore[union-attr]


async def test_a_sample_of_a_dataset_not_on_the_hub_is_refused_with_what_to_do_instead(
    tmp_path: Path, no_network: None
) -> None:
    async with Client(_server(tmp_path)) as client:
        result = await client.call_tool(
            "get_dataset_details", {"dataset_id": "thunlp/JEC-QA", "source": "catalog", "sample_rows": 5}
        )
    assert result.is_error
    assert "source=local" in result.content[0].text  # type: ignore[union-attr]
