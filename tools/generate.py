"""Generate grounded question-answer pairs from one chunk with one LLM call.

All questions of a chunk come from a single call (the peers spend a call per question plus one per answer);
the chunk's heading path is given as context so questions can name the statute or chapter they concern.
A reply that cannot be parsed is retried once with its parse error; a second failure is returned as a
recorded failure with the raw reply, never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ftds.tools.config import BuildSettings
from ftds.tools.language import detect_language
from ftds.tools.llm.base import ChatModel, ChatResult, LLMError, Message
from ftds.tools.prompts import domain_preset, load_template
from ftds.tools.records import Chunk, ItemOutcome, Sample, TokenUsage
from ftds.tools.structured import ParseFailure, T, parse_reply, retry_message


class QAPair(BaseModel):
    question: str = Field(description="A self-contained question answerable from the source.")
    answer: str = Field(description="The grounded answer.")


class QAPairs(BaseModel):
    pairs: list[QAPair]


@dataclass
class StructuredCall:
    """Outcome of :func:`call_structured`: the parsed value or the failure, plus what it cost."""

    value: BaseModel | None
    usage: TokenUsage
    failure_reason: str = ""
    failure_detail: str = ""
    results: list[ChatResult] = field(default_factory=list)


def exact_items_schema(model: type[BaseModel], field_name: str, count: int) -> dict[str, Any]:
    """``model``'s JSON schema with the list ``field_name`` required to hold exactly ``count`` items.

    Grammar-constrained backends (llama.cpp) then cannot stop early — small models otherwise return fewer
    pairs than asked, or review only some of them."""
    schema = model.model_json_schema()
    schema["properties"][field_name].update(minItems=count, maxItems=count)
    return schema


async def call_structured(
    llm: ChatModel, messages: list[Message], model: type[T], schema: dict[str, Any] | None = None
) -> StructuredCall:
    """One structured call with one corrective retry; failures are returned, not raised."""
    usage = TokenUsage()
    results: list[ChatResult] = []
    schema = schema or model.model_json_schema()
    conversation = list(messages)
    for attempt in range(2):
        try:
            result = await llm.complete(conversation, json_schema=schema)
        except LLMError as exc:
            return StructuredCall(None, usage, "llm_error", str(exc), results)
        usage = usage + result.usage
        results.append(result)
        try:
            return StructuredCall(parse_reply(result.text, model), usage, results=results)
        except ParseFailure as failure:
            if attempt == 1:
                detail = f"{failure}; raw reply: {failure.raw[:2000]}"
                return StructuredCall(None, usage, "unparseable", detail, results)
            conversation = [
                *messages,
                {"role": "assistant", "content": result.text},
                {"role": "user", "content": retry_message(failure)},
            ]
    raise AssertionError("unreachable")


def question_count(chunk: Chunk, settings: BuildSettings) -> int:
    """Questions to ask of a chunk: fixed when configured, else scaled to its length."""
    if settings.questions_per_chunk is not None:
        return settings.questions_per_chunk
    scaled = math.ceil(len(chunk.text) / settings.chars_per_question)
    return max(1, min(settings.max_questions_per_chunk, scaled))


@dataclass
class GenerationResult:
    chunk_id: str
    samples: list[Sample]
    usage: TokenUsage
    failure: ItemOutcome | None = None
    prompt_version: str = ""


def chunk_language(chunk: Chunk, forced: str = "auto") -> str:
    return detect_language(chunk.text) if forced == "auto" else forced


async def generate_qa(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    count: int | None = None,
    prompt_dir: Path | None = None,
) -> GenerationResult:
    """Ask ``llm`` for grounded Q&A pairs about ``chunk``; every pair comes back as a :class:`Sample`."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    template = load_template("qa_generate", language, prompt_dir)
    preset = domain_preset(settings.domain, language, prompt_dir)
    wanted = count or question_count(chunk, settings)
    messages = template.render(
        domain_name=preset.name,
        domain_guidance=preset.generate_guidance,
        count=wanted,
        heading_path=chunk.heading_context or chunk.provenance.source,
        chunk=chunk.text,
    )
    call = await call_structured(llm, messages, QAPairs, exact_items_schema(QAPairs, "pairs", wanted))
    if call.value is None:
        failure = ItemOutcome(
            item_id=chunk.chunk_id,
            kind="chunk",
            status="failed",
            reason=f"generation:{call.failure_reason}",
            detail=call.failure_detail,
        )
        return GenerationResult(chunk.chunk_id, [], call.usage, failure, template.version)
    assert isinstance(call.value, QAPairs)
    reasoning = next((r.reasoning for r in reversed(call.results) if r.reasoning), None)
    samples = [
        Sample(
            sample_id=Sample.new_id(chunk.chunk_id, pair.question, pair.answer),
            question=pair.question.strip(),
            answer=pair.answer.strip(),
            reasoning=reasoning,
            domain=settings.domain,
            language=language,
            provenance=chunk.provenance,
            model=llm.label,
            prompt_version=template.version,
        )
        for pair in call.value.pairs
    ]
    return GenerationResult(chunk.chunk_id, samples, call.usage, None, template.version)
