"""The batching chat model (tools/llm/batched.py) against the FAKE batch endpoint (tests/fakes/fake_batch_server.py):
concurrent calls become one batch, each caller gets its own answer or error, and a new process finds the
batches an earlier one sent."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from ftds.tools.config import LLMSettings
from ftds.tools.llm import make_chat_model
from ftds.tools.llm.base import LLMError
from ftds.tools.llm.batched import BatchingChatModel, BatchLedger
from ftds.tools.records import BatchFigures, EndpointFigures
from tests.fakes.fake_batch_server import FakeBatchConfig, FakeBatchServer
from tests.fakes.fake_openai_server import FakeOpenAIServer


def _settings(server: FakeBatchServer, **extra: object) -> LLMSettings:
    values: dict[str, object] = {
        "backend": "openai",
        "model": "fake",
        "base_url": server.base_url,
        "max_retries": 1,
        "batch": True,
        "batch_poll_s": 0.02,
        "batch_window_s": 0.1,
        **extra,
    }
    return LLMSettings.model_validate(values)


def _ask(i: int) -> list[dict[str, str]]:
    """A draft prompt whose source (and so the fake's answer) names paragraph ``i``."""
    source = f'"""\n第{i}段 数据处理者应当建立健全全流程数据安全管理制度。国家建立数据分类分级保护制度。\n"""'
    return [{"role": "user", "content": f"请根据原文写 2 个问答对。\n{source}"}]


async def test_concurrent_calls_go_out_as_one_batch_and_each_caller_gets_its_answer(tmp_path: Path) -> None:
    with FakeBatchServer() as server:
        model = BatchingChatModel(_settings(server), tmp_path / "ledger.sqlite")
        replies = await asyncio.gather(*(model.complete(_ask(i % 5), json_schema={"type": "object"}) for i in range(8)))
        await model.aclose()
        assert server.calls["create"] == 1
        assert len(server.batch_requests["batch-1"]) == 5  # identical calls share one request
    for i, reply in enumerate(replies):  # every caller gets the answer to its own request
        assert json.loads(reply.text)["pairs"][0]["answer"].startswith(f"第{i % 5}段")
    assert model.figures == BatchFigures(batches=1, requests=5)
    ledger = BatchLedger(tmp_path / "ledger.sqlite", model.label)
    assert ledger.batches() == {"batch-1": True} and len(ledger.requests_of("batch-1")) == 5
    ledger.close()


async def test_a_full_batch_is_sent_without_waiting_for_the_window(tmp_path: Path) -> None:
    with FakeBatchServer() as server:
        settings = _settings(server, batch_max_requests=3, batch_window_s=30.0)
        model = BatchingChatModel(settings, tmp_path / "ledger.sqlite")
        replies = await asyncio.wait_for(asyncio.gather(*(model.complete(_ask(i)) for i in range(6))), timeout=20)
        await model.aclose()
        assert [len(ids) for ids in server.batch_requests.values()] == [3, 3]
    assert len(replies) == 6 and settings.concurrency >= 3  # as many calls wait as a batch holds


async def test_a_failed_request_or_batch_fails_its_callers_with_the_reason(tmp_path: Path) -> None:
    def second_paragraph(line: dict[str, object]) -> bool:
        return "第1段" in json.dumps(line, ensure_ascii=False)

    with FakeBatchServer(FakeBatchConfig(fail_if=second_paragraph)) as server:
        model = BatchingChatModel(_settings(server), tmp_path / "ledger.sqlite")
        results = await asyncio.gather(*(model.complete(_ask(i)) for i in range(3)), return_exceptions=True)
        again = await asyncio.gather(model.complete(_ask(1)), return_exceptions=True)  # asked again: a new batch
        await model.aclose()
        assert server.calls["create"] == 2
    assert isinstance(results[1], LLMError) and not isinstance(results[0], BaseException)
    assert str(results[1]).endswith("batch batch-1: HTTP 400 in the batch: invalid request (fake)")
    assert isinstance(again[0], LLMError) and "batch-2" in str(again[0])
    ledger = BatchLedger(tmp_path / "ledger.sqlite", model.label)
    assert ledger.batches() == {"batch-1": True, "batch-2": True}
    assert len(ledger.requests_of("batch-1")) == 2 and ledger.requests_of("batch-2") == []  # failed ones leave
    ledger.close()
    assert model.figures == BatchFigures(batches=2, requests=2, failed=2)

    with FakeBatchServer(FakeBatchConfig(final_status="expired")) as server:
        model = BatchingChatModel(_settings(server), tmp_path / "expired.sqlite")
        with pytest.raises(LLMError, match="the batch ended expired"):
            await model.complete(_ask(0))
        await model.aclose()


async def test_an_endpoint_without_a_batch_api_fails_every_caller_with_a_sentence(tmp_path: Path) -> None:
    with FakeOpenAIServer() as live_only:  # answers chat completions, has no /v1/files or /v1/batches
        settings = LLMSettings(backend="openai", model="fake", base_url=live_only.base_url, max_retries=0)
        settings = settings.model_copy(update={"batch": True, "batch_window_s": 0.05})
        model = BatchingChatModel(settings, tmp_path / "ledger.sqlite")
        results = await asyncio.wait_for(
            asyncio.gather(*(model.complete(_ask(i)) for i in range(3)), return_exceptions=True), timeout=30
        )
        await model.aclose()
    assert all(isinstance(r, LLMError) and "batch API answered HTTP 404" in str(r) for r in results)
    assert model.figures == BatchFigures()


async def test_a_new_process_waits_for_the_batch_an_earlier_one_sent(tmp_path: Path) -> None:
    hold = threading.Event()
    with FakeBatchServer(FakeBatchConfig(hold=hold)) as server:
        first = BatchingChatModel(_settings(server), tmp_path / "ledger.sqlite")
        waiting = asyncio.ensure_future(asyncio.gather(*(first.complete(_ask(i)) for i in range(3))))
        for _ in range(500):  # the fake runs in another thread: poll its counter
            if server.calls["retrieve"] >= 2:
                break
            await asyncio.sleep(0.02)
        waiting.cancel()  # the process ends while the batch is pending
        await first.aclose()
        hold.set()
        second = BatchingChatModel(_settings(server), tmp_path / "ledger.sqlite")
        replies = await asyncio.gather(*(second.complete(_ask(i)) for i in range(3)))
        await second.aclose()
        assert (server.calls["upload"], server.calls["create"]) == (1, 1)
    assert len(replies) == 3 and second.figures == BatchFigures(resumed=1, requests=3)


async def test_the_ledger_belongs_to_one_endpoint_and_never_holds_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-ledger-test-SECRET"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with FakeBatchServer() as server:
        model = make_chat_model(_settings(server), tmp_path / "cache", tmp_path / "ledger.sqlite")
        await model.complete(_ask(0))
        figures = model.endpoint_figures()  # type: ignore[attr-defined]
        await model.aclose()
        with pytest.raises(LLMError, match="belongs to"):
            BatchingChatModel(_settings(server, model="other"), tmp_path / "ledger.sqlite")
    for written in tmp_path.glob("ledger.sqlite*"):  # the database and its write-ahead log
        assert secret.encode() not in written.read_bytes()
    assert isinstance(figures, EndpointFigures) and figures.batch == BatchFigures(batches=1, requests=1)
    merged = figures.merged(figures)
    assert merged.batch == BatchFigures(batches=2, requests=2)
    (tmp_path / "torn.sqlite").write_text("not a database, a torn copy " * 100, encoding="utf-8")
    with pytest.raises(LLMError, match="unreadable"):
        BatchingChatModel(_settings(server), tmp_path / "torn.sqlite")


def test_batch_settings_need_an_openai_compatible_endpoint() -> None:
    from pydantic import ValidationError

    from ftds.tools.config import load_settings

    with pytest.raises(ValidationError, match="OpenAI-compatible Batch API"):
        load_settings(llm={"batch": True})
    settings = load_settings(llm={"backend": "openai", "model": "m", "batch": True, "batch_max_requests": 50})
    assert settings.llm.concurrency == 50
