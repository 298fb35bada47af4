"""The OpenAI-compatible backend against the FAKE loopback server, with injected faults."""

import logging
import time

import pytest

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import LLMError
from ftds.tools.llm.openai_compat import OpenAICompatibleChatModel
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig

GEN_PROMPT = [
    {
        "role": "user",
        "content": '请编写 2 个问答对\n"""\n第一条 为了规范数据处理活动，制定本法。\n"""\n{"pairs": []}',
    }
]


def _model(server: FakeOpenAIServer, **extra: object) -> OpenAICompatibleChatModel:
    options: dict[str, object] = {"timeout_s": 1.0, "max_retries": 3, **extra}
    return OpenAICompatibleChatModel(
        LLMSettings.model_validate({"backend": "openai", "model": "fake", "base_url": server.base_url, **options})
    )


async def test_reply_text_usage_and_json_mode_are_passed_through() -> None:
    with FakeOpenAIServer() as server:
        model = _model(server)
        result = await model.complete(GEN_PROMPT, json_schema={"type": "object"})
        await model.aclose()
    assert '"pairs"' in result.text
    assert result.usage.calls == 1 and result.usage.prompt_tokens > 0
    assert server.requests[0]["response_format"] == {"type": "json_object"}


async def test_429_with_retry_after_and_500_are_retried() -> None:
    with FakeOpenAIServer(FakeServerConfig(script=["429", "500", "ok"], retry_after_s=0.2)) as server:
        model = _model(server)
        started = time.perf_counter()
        result = await model.complete(GEN_PROMPT)
        elapsed = time.perf_counter() - started
        await model.aclose()
    assert '"pairs"' in result.text
    assert len(server.requests) == 3
    assert elapsed >= 0.2  # Retry-After was honoured


async def test_timeout_becomes_an_llm_error_naming_the_endpoint() -> None:
    config = FakeServerConfig(script=["timeout"] * 3, timeout_sleep_s=3.0)
    with FakeOpenAIServer(config) as server:
        model = _model(server, max_retries=0, timeout_s=0.3)
        with pytest.raises(LLMError, match="timed out"):
            await model.complete(GEN_PROMPT)
        await model.aclose()


async def test_malformed_body_becomes_an_llm_error() -> None:
    with FakeOpenAIServer(FakeServerConfig(script=["malformed_body"] * 5)) as server:
        model = _model(server, max_retries=0)
        with pytest.raises(LLMError):
            await model.complete(GEN_PROMPT)
        await model.aclose()


async def test_a_malformed_body_is_retried_like_any_transient_fault() -> None:
    with FakeOpenAIServer(FakeServerConfig(script=["malformed_body", "ok"])) as server:
        model = _model(server, max_retries=2)
        result = await model.complete(GEN_PROMPT)
        await model.aclose()
    assert '"pairs"' in result.text and len(server.requests) == 2


async def test_missing_api_key_names_the_variable_and_never_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = LLMSettings(
        backend="openai",
        model="gpt-x",
        base_url="https://api.example.invalid/v1",
        api_key_env="MY_PROVIDER_KEY",
    )
    with pytest.raises(LLMError, match="MY_PROVIDER_KEY"):
        OpenAICompatibleChatModel(settings)


async def test_api_key_never_appears_in_errors_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("FAKE_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(FakeServerConfig(script=["500"] * 10)) as server:
        model = OpenAICompatibleChatModel(
            LLMSettings(
                backend="openai",
                model="fake",
                base_url=server.base_url,
                api_key_env="FAKE_KEY",
                max_retries=1,
            )
        )
        with pytest.raises(LLMError) as info:
            await model.complete(GEN_PROMPT)
        await model.aclose()
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text
    assert secret not in model.label
