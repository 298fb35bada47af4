"""The official MCP Inspector CLI (npm) lists the tools of a real ftds server over stdio and calls one."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("npm") is None, reason="the MCP Inspector needs Node.js and npm")
def test_mcp_inspector_cli_lists_tools_and_calls_load_literature(corpus: Path) -> None:
    law = corpus / "law_en"
    result = subprocess.run(
        [str(REPO / "scripts" / "inspector-check.sh"), str(law), str(law / "US_Constitution.md")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    decoder = json.JSONDecoder()
    listing, end = decoder.raw_decode(result.stdout)
    call, _ = decoder.raw_decode(result.stdout[end:].lstrip())
    names = {tool["name"] for tool in listing["tools"]}
    assert {"load_literature", "build_dataset", "search_dataset_sources", "critique_qa"} <= names
    assert call["isError"] is False
    assert call["structuredContent"]["files"][0]["status"] == "loaded"
