"""Adaptive concurrency (AIMD) per endpoint, against the FAKE OpenAI-compatible server returning 429s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ftds.tools.config import LLMSettings
from ftds.tools.llm.adaptive import AdaptiveLimit, _Counts, adaptive_limit_for, endpoint_figures
from ftds.tools.llm.openai_compat import OpenAICompatibleChatModel
from tests.conftest import fake_llm_flags, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig

ASK = [{"role": "user", "content": 'Write 1 question-answer pairs.\n"""\nData shall be protected by law.\n"""'}]


def _settings(server: FakeOpenAIServer, **extra: object) -> LLMSettings:
    return LLMSettings(backend="openai", model="fake", base_url=server.base_url, max_retries=30, **extra)  # type: ignore[arg-type]


async def _burst(models: list[OpenAICompatibleChatModel], calls: int) -> None:
    results = await asyncio.gather(*(models[i % len(models)].complete(ASK) for i in range(calls)))
    assert all(r.text for r in results)  # every call ends answered: 429s are retried, never lost


def test_the_limit_halves_once_per_round_grows_after_successes_and_stays_within_bounds() -> None:
    limit, counts = AdaptiveLimit(ceiling=8, increase_after=2), _Counts(ceiling=8, min_limit=8)
    epoch = limit.epoch
    for _ in range(5):  # five calls sent in the same round all see a 429: one halving, not five
        limit.overloaded(epoch, counts)
    assert (limit.limit, counts.decreases) == (4, 1)
    limit.overloaded(limit.epoch, counts)
    limit.overloaded(limit.epoch, counts)
    limit.overloaded(limit.epoch, counts)
    assert limit.limit == 1 and counts.min_limit == 1  # never below one call
    for _ in range(40):
        limit.succeeded(counts)
    assert limit.limit == 8 and counts.increases == 7  # back to the ceiling, never above it
    fixed = AdaptiveLimit(ceiling=8, increase_after=2, adaptive=False)
    fixed.overloaded(fixed.epoch, counts)
    assert fixed.limit == 8


async def test_a_capped_endpoint_drives_the_shared_limit_down_and_gets_fewer_429s_than_a_fixed_limit() -> None:
    capped = FakeServerConfig(latency_s=0.05, max_concurrent=3, retry_after_s=0.02)
    with FakeOpenAIServer(capped) as server:
        settings = _settings(server, concurrency=12, concurrency_increase_after=6)
        generator, reviewer = OpenAICompatibleChatModel(settings), OpenAICompatibleChatModel(settings)
        await _burst([generator, reviewer], 60)
        assert generator.pressure.limit() is reviewer.pressure.limit()  # one limit per endpoint
        figures = generator.pressure.figures().merged(reviewer.pressure.figures())
        adaptive_429 = server.faults_served["429"]
        await generator.aclose(), await reviewer.aclose()
    assert figures.ceiling == 12 and figures.rate_limited == adaptive_429 > 0
    assert figures.decreases >= 2 and figures.min_limit <= 3  # 12 -> 6 -> 3 (or lower)
    assert 1 <= figures.limit <= 12
    with FakeOpenAIServer(capped) as server:
        fixed = OpenAICompatibleChatModel(_settings(server, concurrency=12, adaptive_concurrency=False))
        await asyncio.gather(*(fixed.complete(ASK) for _ in range(60)), return_exceptions=True)  # may exhaust retries
        fixed_429 = server.faults_served["429"]
        assert fixed.pressure.figures().decreases == 0
        await fixed.aclose()
    assert adaptive_429 * 2 < fixed_429  # the adapted limit wastes far fewer calls on 429s


async def test_a_timed_out_attempt_halves_the_limit_and_the_retry_still_answers() -> None:
    with FakeOpenAIServer(FakeServerConfig(script=["timeout"], timeout_sleep_s=2.0)) as server:
        model = OpenAICompatibleChatModel(_settings(server, concurrency=4, timeout_s=0.5))
        result = await model.complete(ASK)
        figures = model.pressure.figures()
        assert adaptive_limit_for(model.pressure.settings).limit == 2
        await model.aclose()
    assert result.text and figures.timeouts == 1 and figures.decreases == 1 and figures.min_limit == 2


def test_endpoint_figures_add_up_models_on_one_endpoint_and_skip_the_embedded_one() -> None:
    class _Model:
        def __init__(self, label: str, figures: object) -> None:
            self.label, self._figures = label, figures

        def endpoint_figures(self) -> object:
            return self._figures

    from ftds.tools.records import EndpointFigures

    one = EndpointFigures(ceiling=4, limit=2, min_limit=1, rate_limited=3, decreases=2)
    two = EndpointFigures(ceiling=4, limit=4, min_limit=2, rate_limited=1, timeouts=1, decreases=1)
    found = endpoint_figures([_Model("e/m", one), _Model("e/m", two), _Model("embedded/x", None)])
    assert list(found) == ["e/m"]
    assert found["e/m"].model_dump() == {
        "ceiling": 4,
        "limit": 2,
        "min_limit": 1,
        "rate_limited": 4,
        "timeouts": 1,
        "decreases": 3,
        "increases": 0,
        "batch": None,  # live calls: no Batch API figures
    }


def test_the_build_report_shows_the_endpoint_figures(tmp_path: Path, law_file: Path) -> None:
    config = FakeServerConfig(script=["429", "429"], retry_after_s=0.01)
    with FakeOpenAIServer(config) as server:
        out = tmp_path / "o"
        flags = fake_llm_flags(server)
        result = run_cli("build", str(law_file), "--out", str(out), "--max-chunks", "2", "--json", *flags, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    (label, figures), *_ = report["endpoints"].items()
    assert label == f"{server.base_url}/fake"
    assert figures["rate_limited"] == 2 and figures["decreases"] >= 1 and figures["ceiling"] == 4
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert f"endpoint {label}: concurrency limit" in markdown and "2 HTTP 429" in markdown
