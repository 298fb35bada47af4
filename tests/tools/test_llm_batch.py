"""The OpenAI-compatible Batch API client against the FAKE batch endpoint (tests/fakes/fake_batch_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import LLMError
from ftds.tools.llm.batch import BatchRequest, BatchState, run_batch
from tests.fakes.fake_batch_server import FakeBatchConfig, FakeBatchServer

SOURCE = '"""\n数据处理者应当建立健全全流程数据安全管理制度。国家建立数据分类分级保护制度。\n"""'


def _requests(count: int) -> list[BatchRequest]:
    return [
        BatchRequest(
            custom_id=f"chunk-{i}",
            messages=[{"role": "user", "content": f"请根据原文写 2 个问答对（第{i}段）。\n{SOURCE}"}],
            json_schema={"type": "object"},
        )
        for i in range(count)
    ]


def _settings(server: FakeBatchServer) -> LLMSettings:
    return LLMSettings(backend="openai", model="fake", base_url=server.base_url, max_retries=1)


async def test_every_request_is_answered_or_failed_with_a_reason(tmp_path: Path) -> None:
    config = FakeBatchConfig(failing_ids={"chunk-1"}, missing_ids={"chunk-4"})
    with FakeBatchServer(config) as server:
        events: list[str] = []
        outcomes = await run_batch(
            _requests(6),
            _settings(server),
            tmp_path / "batch.json",
            poll_interval_s=0.01,
            on_status=lambda kind, _data: events.append(kind),
        )
        uploaded = server.files["file-1"].decode().splitlines()
    assert list(outcomes) == [f"chunk-{i}" for i in range(6)]
    answered = [c for c, o in outcomes.items() if o.ok]
    assert answered == ["chunk-0", "chunk-2", "chunk-3", "chunk-5"]
    assert json.loads(outcomes["chunk-0"].result.text)["pairs"]  # a real chat completion, parsed
    assert outcomes["chunk-0"].result.usage.calls == 1
    assert outcomes["chunk-1"].error == "HTTP 400 in the batch: invalid request (fake)"
    assert outcomes["chunk-4"].error == "the batch returned no line for it"
    line = json.loads(uploaded[0])
    assert line["url"] == "/v1/chat/completions" and line["body"]["response_format"] == {"type": "json_object"}
    assert events[0] == "batch_created" and "batch_status" in events
    state = BatchState.model_validate_json((tmp_path / "batch.json").read_text(encoding="utf-8"))
    assert state.batch_id == "batch-1" and state.status == "completed"


async def test_a_restart_resumes_the_same_batch_instead_of_paying_twice(tmp_path: Path) -> None:
    state_path = tmp_path / "state" / "batch.json"
    with FakeBatchServer(FakeBatchConfig(polls_to_finish=4)) as server:
        with pytest.raises(LLMError, match="run again to resume"):
            await run_batch(_requests(3), _settings(server), state_path, poll_interval_s=0.01, max_wait_s=0.0)
        assert BatchState.model_validate_json(state_path.read_text(encoding="utf-8")).batch_id == "batch-1"
        events: list[str] = []
        outcomes = await run_batch(
            _requests(3),
            _settings(server),
            state_path,
            poll_interval_s=0.01,
            on_status=lambda kind, _data: events.append(kind),
        )
        assert (server.calls["upload"], server.calls["create"]) == (1, 1)  # uploaded and created once
    assert events[0] == "batch_resumed" and all(o.ok for o in outcomes.values())


async def test_a_failed_batch_fails_every_request_and_other_requests_start_a_new_batch(tmp_path: Path) -> None:
    state_path = tmp_path / "batch.json"
    with FakeBatchServer(FakeBatchConfig(final_status="expired")) as server:
        outcomes = await run_batch(_requests(2), _settings(server), state_path, poll_interval_s=0.01)
        assert {o.error for o in outcomes.values()} == {"the batch ended expired"}
        server.config.final_status = "completed"
        other = await run_batch(_requests(3), _settings(server), state_path, poll_interval_s=0.01)
        assert server.calls["create"] == 2 and all(o.ok for o in other.values())


async def test_bad_input_and_a_dead_endpoint_are_clear_errors(tmp_path: Path) -> None:
    with FakeBatchServer() as server:
        twice = [*_requests(1), *_requests(1)]
        with pytest.raises(LLMError, match="unique custom_id"):
            await run_batch(twice, _settings(server), tmp_path / "b.json")
        assert await run_batch([], _settings(server), tmp_path / "b.json") == {}
    with pytest.raises(LLMError, match="could not connect"):
        await run_batch(_requests(1), _settings(server), tmp_path / "c.json", poll_interval_s=0.01)
