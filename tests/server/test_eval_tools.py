"""MCP tools build_eval_set and run_eval through a real in-memory MCP client session, against the fake
OpenAI-compatible server: structured results, progress notifications, paths confined to the roots."""

import shutil
from pathlib import Path

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from tests.conftest import CORPUS, fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

LAW = CORPUS / "law_zh" / "数据安全法(2021-06-10).md"


async def test_an_eval_set_is_built_and_run_with_progress(tmp_path: Path, fake_server: FakeOpenAIServer) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(LAW, tmp_path / "docs" / LAW.name)
    server = create_server(load_settings(server={"roots": [str(tmp_path)]}, llm=fake_llm_overrides(fake_server)))
    progress: list[tuple[str, float]] = []

    def recorder(tool: str):
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((tool, value))

        return on_progress

    async with Client(server) as client:
        built = await client.call_tool(
            "build_eval_set",
            {
                "paths": ["docs"],
                "out_dir": "set",
                "kinds": ["single_choice", "true_false", "open"],
                "items_per_kind": 1,
                "max_chunks": 3,
            },
            progress_callback=recorder("build"),
        )
        assert not built.is_error, built.content
        data = built.structured_content
        assert data is not None and data["items"] > 0
        assert set(data["by_kind"]) <= {"single_choice", "true_false", "open"}
        assert Path(data["outputs"]["card"]).is_file()

        ran = await client.call_tool(
            "run_eval",
            {"set_dir": "set", "model": "fake-model", "base_url": fake_server.base_url, "out_dir": "report"},
            progress_callback=recorder("run"),
        )
        assert not ran.is_error, ran.content
        result = ran.structured_content
        assert result is not None and result["items"] == data["items"] and result["complete"]
        model = result["models"][0]
        assert model["exact_match_items"] + model["judged_items"] == data["items"]
        assert Path(result["outputs"]["report_html"]).is_file()

        outside = await client.call_tool(
            "run_eval", {"set_dir": "/etc", "model": "m", "base_url": fake_server.base_url}
        )
        assert outside.is_error

    build_steps = [value for tool, value in progress if tool == "build"]
    run_steps = [value for tool, value in progress if tool == "run"]
    assert build_steps and build_steps == sorted(build_steps)
    assert run_steps and run_steps[-1] == data["items"] and run_steps == sorted(run_steps)
