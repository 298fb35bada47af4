"""The managed client: response cache, max_tokens clamp, cost accounting and rate-limit plumbing."""

import asyncio
from pathlib import Path

import pytest

from ftds.tools.config import LLMSettings, load_settings
from ftds.tools.generation.generate import QAPairs, call_structured
from ftds.tools.llm import make_chat_model
from ftds.tools.llm.base import LLMError
from ftds.tools.llm.managed import ManagedChatModel, estimate_tokens
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer
from tests.fakes.scripted_chat import ScriptedChatModel

PROMPT = [
    {"role": "user", "content": '请编写 1 个问答对\n"""\n第一条 为了规范数据处理活动，制定本法。\n"""\n{"pairs": []}'}
]


def _settings(**extra: object) -> LLMSettings:
    return LLMSettings.model_validate({"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", **extra})


async def test_an_identical_call_is_answered_from_the_cache_and_costs_nothing(tmp_path: Path) -> None:
    inner = ScriptedChatModel(["first reply", "second reply"])
    model = ManagedChatModel(inner, _settings(cost_per_1m_input=2.0, cost_per_1m_output=8.0), tmp_path)
    first = await model.complete(PROMPT)
    again = await model.complete(PROMPT)
    other = await model.complete(PROMPT, temperature=0.9)
    await model.aclose()
    assert again.text == first.text == "first reply" and again.cached and not first.cached
    assert other.text == "second reply"  # different params, different key
    assert len(inner.history) == 2
    assert model.usage.calls == 2 and model.usage.cached_calls == 1
    expected = (first.usage.prompt_tokens * 2 + first.usage.completion_tokens * 8) / 1e6
    assert first.usage.cost == pytest.approx(expected) and again.usage.cost == 0


async def test_the_cache_survives_a_new_process_so_a_rerun_never_pays_twice(tmp_path: Path) -> None:
    with FakeOpenAIServer() as fake:
        settings = load_settings(llm=fake_llm_overrides(fake))
        for _ in range(2):
            model = make_chat_model(settings.llm, tmp_path)
            await model.complete(PROMPT, json_schema={"type": "object"})
            await model.aclose()
    assert len(fake.requests) == 1


async def test_an_unusable_reply_is_evicted_so_the_next_run_asks_again(tmp_path: Path) -> None:
    inner = ScriptedChatModel(["not json", "still not json", '{"pairs": []}'])
    model = ManagedChatModel(inner, _settings(), tmp_path)
    failed = await call_structured(model, PROMPT, QAPairs)
    assert failed.value is None
    again = await call_structured(model, PROMPT, QAPairs)
    assert again.value is not None and len(inner.history) == 3


async def test_max_tokens_is_clamped_to_the_context_window(tmp_path: Path) -> None:
    inner = ScriptedChatModel(["ok"])
    seen: list[int | None] = []
    original = inner.complete

    async def spy(messages, *, json_schema=None, temperature=None, max_tokens=None):  # type: ignore[no-untyped-def]
        seen.append(max_tokens)
        return await original(messages, json_schema=json_schema, temperature=temperature, max_tokens=max_tokens)

    inner.complete = spy  # type: ignore[method-assign]
    model = ManagedChatModel(inner, _settings(context_window=600, max_tokens=1000, cache=False))
    await model.complete(PROMPT)
    prompt_tokens = sum(estimate_tokens(m["content"]) + 4 for m in PROMPT)
    assert seen == [600 - prompt_tokens - 32]


async def test_a_prompt_larger_than_the_window_is_an_actionable_error() -> None:
    model = ManagedChatModel(ScriptedChatModel([]), _settings(context_window=512, cache=False))
    with pytest.raises(LLMError, match=r"lower chunking\.max_chars"):
        await model.complete([{"role": "user", "content": "法" * 600}])


async def test_embedded_window_defaults_to_n_ctx() -> None:
    model = ManagedChatModel(ScriptedChatModel([]), LLMSettings(n_ctx=2048))
    assert model.context_window == 2048


async def test_token_rate_limit_holds_back_the_call_that_would_exceed_it() -> None:
    inner = ScriptedChatModel(["a", "b"])
    model = ManagedChatModel(inner, _settings(requests_per_minute=6000, tokens_per_minute=100, cache=False))
    await model.complete(PROMPT, max_tokens=64)  # larger than the bucket: served, and the bucket is now full
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(model.complete(PROMPT, max_tokens=64), timeout=0.2)
    assert len(inner.history) == 1


async def test_request_rate_limit_is_shared_by_every_model_on_the_same_endpoint() -> None:
    settings = _settings(requests_per_minute=2, cache=False)
    first = ManagedChatModel(ScriptedChatModel(["a", "b"]), settings)
    second = ManagedChatModel(ScriptedChatModel(["c"]), settings)
    await first.complete(PROMPT)
    await first.complete(PROMPT)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(second.complete(PROMPT), timeout=0.2)
