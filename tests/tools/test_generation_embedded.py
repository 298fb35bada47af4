"""The REAL embedded model (Qwen2.5-Coder 0.5B GGUF) on a real law chunk: one grammar-constrained call."""

from pathlib import Path

import pytest

from ftds.tools.config import BuildSettings, LLMSettings
from ftds.tools.generation.generate import generate_qa
from ftds.tools.ingest import load_literature
from ftds.tools.llm import make_chat_model
from tests.conftest import MODEL_CACHE


@pytest.mark.embedded
async def test_the_embedded_model_writes_a_parseable_chinese_question_about_a_real_article(law_file: Path) -> None:
    chunk = next(c for c in load_literature([law_file], domain="law").chunks if "第二十一条" in c.text)
    chunk = chunk.model_copy(update={"text": chunk.text[:400]})
    llm = make_chat_model(LLMSettings(model="qwen2.5-coder-0.5b", max_tokens=256, cache=False), MODEL_CACHE)
    try:
        result = await generate_qa(chunk, llm, BuildSettings(domain="law"), count=1)
    finally:
        await llm.aclose()
    assert result.failure is None, result.failure
    assert result.samples, "the model returned no pairs"
    sample = result.samples[0]
    assert sample.question and sample.answer
    assert sample.language == "zh" and sample.prompt_version == "qa_generate.zh@5"
    assert sample.model == "embedded/qwen2.5-coder-0.5b"
    assert result.usage.calls <= 2 and result.usage.completion_tokens > 0
