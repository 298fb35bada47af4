"""critique_qa through a real MCP client session, with the FAKE OpenAI-compatible endpoint."""

from pathlib import Path

from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig


async def test_critique_qa_returns_a_verdict_per_pair_with_feedback_for_revision(
    tmp_path: Path, law_file: Path
) -> None:
    text = law_file.read_text(encoding="utf-8")
    passage = text[text.index("第二十一条") : text.index("第二十二条")]
    sentence = passage.split("。")[0].removeprefix("第二十一条").strip() + "。"
    pairs = [
        {"question": "国家对数据实行什么保护制度？", "answer": sentence},
        {"question": "数据安全法的立法目的是什么？", "answer": "今天天气很好，我们去公园散步吧，顺便买点水果。"},
    ]
    with FakeOpenAIServer(FakeServerConfig(feedback_score=3)) as fake:
        settings = load_settings(server={"roots": [str(tmp_path)]}, llm=fake_llm_overrides(fake))
        async with Client(create_server(settings)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            result = await client.call_tool("critique_qa", {"text": passage, "pairs": pairs})
    assert tools["critique_qa"].annotations is not None and tools["critique_qa"].annotations.read_only_hint
    data = result.structured_content
    assert not result.is_error and data is not None, result.content
    first, second = data["critiques"]
    assert first["decision"] == "revise" and first["feedback"] and first["scores"]["grounded"] == 0.5
    assert second["decision"] == "reject" and second["reason"] == "precheck:unsupported"
    assert (data["to_revise"], data["rejected"], data["accepted"], data["failed"]) == (1, 1, 0, 0)
    # the same checks as a build: evidence located by code, every check's verdict, then the judge
    assert first["evidence"] and first["evidence"][0]["text"] in passage
    names = ["question", "evidence", "key_terms", "facts", "polarity", "round_trip", "judge"]
    assert [c["name"] for c in first["checks"]] == names
    assert len(fake.requests) == 2  # one round-trip call, one judge call


async def test_critique_qa_with_blank_text_is_an_actionable_error(tmp_path: Path) -> None:
    settings = load_settings(server={"roots": [str(tmp_path)]})
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("critique_qa", {"text": "   ", "pairs": [{"question": "q", "answer": "a"}]})
    assert result.is_error
    assert "source passage" in str(result.content)
