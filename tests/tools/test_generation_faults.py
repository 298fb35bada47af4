"""The whole generate -> review -> revise loop against the FAKE OpenAI-compatible server with 30% faults."""

import asyncio
from pathlib import Path

from ftds.tools.config import load_settings
from ftds.tools.ingest import load_literature
from ftds.tools.llm import make_chat_model
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FAULTS, FakeOpenAIServer, FakeServerConfig
from tests.flow_helpers import process_chunk


async def test_with_30_percent_faults_every_item_ends_accepted_rejected_or_failed_with_a_reason(
    law_file: Path, tmp_path: Path
) -> None:
    chunks = load_literature([law_file], domain="law").chunks[:8]
    config = FakeServerConfig(
        fault_rate=0.3,
        seed=4,
        feedback_score=3,
        timeout_sleep_s=1.0,
        retry_after_s=0.01,
        script=list(FAULTS),  # every kind of fault once up front, then 30% at random
    )
    with FakeOpenAIServer(config) as fake:
        settings = load_settings(
            llm=fake_llm_overrides(fake, timeout_s=0.3, max_retries=3, concurrency=8),
            build={"questions_per_chunk": 2, "max_revision_rounds": 1},
        )
        llm = make_chat_model(settings.llm, tmp_path)
        results = await asyncio.gather(*(process_chunk(c, llm, llm, settings) for c in chunks))
        await llm.aclose()
    assert set(fake.faults_served) >= set(FAULTS)
    assert sum(n for fault, n in fake.faults_served.items() if fault != "ok") >= 0.2 * len(fake.requests)
    accepted = 0
    for chunk, result in zip(chunks, results, strict=True):
        assert result.chunk_id == chunk.chunk_id
        if result.chunk_failure is not None:
            assert result.chunk_failure.reason.startswith("generation:") and result.generated == 0
            continue
        outcomes = [s.sample_id for s in result.accepted] + [o.item_id for o in result.rejected + result.failed]
        assert len(outcomes) == len(set(outcomes)) == result.generated, f"chunk {chunk.index} lost or doubled items"
        assert all(o.reason for o in result.rejected + result.failed)
        accepted += len(result.accepted)
        # the fake reviewer asks for a revision first: whatever was accepted went through one
        assert all(s.revision_rounds == 1 for s in result.accepted)
    assert accepted > 0
