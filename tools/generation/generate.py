"""Generate grounded question-answer pairs from one chunk with one LLM call, and the shared machinery every
task type uses: :func:`call_structured`, :func:`call_about_chunk` and :class:`GenerationResult`.

All questions of a chunk come from a single call (the peers spend a call per question plus one per answer);
the chunk's heading path is given as context so questions can name the statute or chapter they concern.
A reply that cannot be parsed is retried once with its parse error; a second failure is returned as a
recorded failure with the raw reply, never dropped.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, Field, field_validator

from ftds.tools.config import BuildSettings
from ftds.tools.generation.evidence import locate_evidence
from ftds.tools.generation.examples import FewShotExample, load_examples, render_examples
from ftds.tools.generation.prompts import DomainPreset, PromptTemplate, domain_preset, load_template
from ftds.tools.generation.structured import ParseFailure, T, parse_reply, retry_message, split_think
from ftds.tools.language import detect_language
from ftds.tools.llm.base import ChatModel, ChatResult, LLMError, Message
from ftds.tools.reasons import call_failure
from ftds.tools.records import Chunk, ItemOutcome, Sample, TokenUsage


class QAPair(BaseModel):
    """One generated pair. The evidence comes first: a grammar-constrained model writes the fields in this
    order, so it copies the supporting sentence(s) before it asks, and the question is put to what those
    sentences state. Side by side on round 11 of the labelled set (the same 48 chunks, the same review), the
    1.5B wrote correct pairs more often this way (Chinese 17 of 72 against 8 of 71, far fewer source sentences
    given as the "question") and 3.3x the correct accepted samples (docs/benchmarks/critique.md)."""

    evidence: str = Field(
        default="",
        description="The source sentence(s) supporting the answer, copied verbatim; located by code afterwards.",
    )
    question: str = Field(description="A self-contained question answerable from the source.")
    answer: str = Field(description="The grounded answer.")

    @field_validator("evidence", "question", "answer")
    @classmethod
    def _without_json_debris(cls, text: str) -> str:
        return without_json_debris(text)


_JSON_DEBRIS = re.compile(r"\s*[”\"]\s*[}\]][\s,{}\[\]]*$")


def without_json_debris(text: str) -> str:
    """``text`` without the JSON a model closed with the wrong quote: "… trust operation.”}, {" (it wrote ” for
    the string's closing ", so the object's own closing brackets became part of the answer; 2 of round 14's 87
    pairs). A trailing ” with no “ before it goes too; a quotation the text opens and closes stays."""
    text = _JSON_DEBRIS.sub("", text).rstrip()
    if text.endswith("”") and text.count("“") < text.count("”"):
        text = text[:-1].rstrip()
    return text


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

    @property
    def reasoning(self) -> str | None:
        """The model's own reasoning for the reply that was used: ``reasoning_content`` or a ``<think>``
        block, whichever the backend gave."""
        if not self.results:
            return None
        last = self.results[-1]
        return last.reasoning or split_think(last.text)[1]


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, built once per class (pydantic rebuilds it on every call otherwise)."""
    return model.model_json_schema()


def exact_items_schema(model: type[BaseModel], field_name: str, count: int) -> dict[str, Any]:
    """``model``'s JSON schema with the list ``field_name`` required to hold exactly ``count`` items.

    Grammar-constrained backends (llama.cpp) then cannot stop early — small models otherwise return fewer
    pairs than asked, or review only some of them."""
    schema = copy.deepcopy(_schema(model))
    schema["properties"][field_name].update(minItems=count, maxItems=count)
    return schema


async def call_structured(
    llm: ChatModel,
    messages: list[Message],
    model: type[T],
    schema: dict[str, Any] | None = None,
    *,
    temperature: float | None = None,
) -> StructuredCall:
    """One structured call with one corrective retry; failures are returned, not raised.

    Failure reasons: ``llm_error`` (the endpoint failed after its retries), ``empty``, ``refusal`` or
    ``unparseable`` (after the retry), each with the raw reply in the detail. ``schema`` overrides the
    model's own JSON schema (e.g. to require an exact item count)."""
    usage = TokenUsage()
    results: list[ChatResult] = []
    schema = schema or _schema(model)

    conversation = list(messages)
    for attempt in range(2):
        try:
            result = await llm.complete(conversation, json_schema=schema, temperature=temperature)
        except LLMError as exc:
            return StructuredCall(None, usage, "llm_error", str(exc), results)
        usage = usage + result.usage
        results.append(result)
        try:
            return StructuredCall(parse_reply(result.text, model), usage, results=results)
        except ParseFailure as failure:
            forget = getattr(llm, "forget", None)
            if forget is not None:  # keep an unusable reply out of the response cache
                forget(result.cache_key)
            if attempt == 1:
                detail = f"{failure}; raw reply: {failure.raw[:2000]}"
                return StructuredCall(None, usage, failure.kind, detail, results)
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
    failed: list[ItemOutcome] = field(default_factory=list)
    """Per-item failures when the call as a whole worked (e.g. a pair the model left out)."""

    @classmethod
    def call_failed(cls, chunk: Chunk, stage: str, call: StructuredCall, version: str) -> GenerationResult:
        """A chunk whose one generation call gave nothing usable: no samples, the chunk failed with the reason."""
        return cls(chunk.chunk_id, [], call.usage, failure_outcome(chunk.chunk_id, stage, call), version)


def chunk_language(chunk: Chunk, forced: str = "auto") -> str:
    return detect_language(chunk.text) if forced == "auto" else forced


@dataclass
class PromptContext:
    """What every generation prompt for one chunk shares: language, template, preset, few-shot block."""

    language: str
    template: PromptTemplate
    preset: DomainPreset
    examples: str

    def render(self, **values: object) -> list[Message]:
        return self.template.render(
            domain_name=self.preset.name,
            domain_guidance=self.preset.generate_guidance,
            examples=self.examples,
            **values,
        )


def prompt_context(
    name: str,
    language: str,
    settings: BuildSettings,
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> PromptContext:
    prompt_dir = prompt_dir or settings.prompt_dir
    if examples is None and settings.examples_file is not None:
        examples = load_examples(settings.examples_file)
    return PromptContext(
        language=language,
        template=load_template(name, language, prompt_dir),
        preset=domain_preset(settings.domain, language, prompt_dir),
        examples=render_examples(examples, language),
    )


class ChunkCall(NamedTuple):
    """What :func:`call_about_chunk` gives back: the language and prompt version the samples record, and the call."""

    language: str
    version: str
    call: StructuredCall


async def call_about_chunk(
    template: str,
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings,
    model: type[BaseModel],
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
    *,
    schema: dict[str, Any] | None = None,
    language: str | None = None,
    temperature: float | None = None,
    **values: object,
) -> ChunkCall:
    """The preamble every per-chunk task shares, kept in one place: pick the chunk's language (unless given),
    render prompt ``template`` with ``values`` plus the chunk's heading path and text, and make one structured
    call for ``model``. A failed call is in the result, not raised; the task decides how to record it."""
    language = chunk_language(chunk, settings.language) if language is None else language
    ctx = prompt_context(template, language, settings, prompt_dir, examples)
    messages = ctx.render(**values, heading_path=chunk.heading_context or chunk.provenance.source, chunk=chunk.text)
    call = await call_structured(llm, messages, model, schema, temperature=temperature)
    return ChunkCall(language, ctx.template.version, call)


def failure_outcome(item_id: str, stage: str, call: StructuredCall, kind: str = "chunk") -> ItemOutcome:
    return ItemOutcome(
        item_id=item_id,
        kind="sample" if kind == "sample" else "chunk",
        status="failed",
        reason=call_failure(stage, call.failure_reason),
        detail=call.failure_detail,
    )


def make_sample(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings,
    language: str,
    version: str,
    *,
    question: str,
    answer: str,
    task: str = "qa",
    **extra: object,
) -> Sample:
    question, answer = question.strip(), answer.strip()
    return Sample(
        sample_id=Sample.new_id(chunk.chunk_id, question, answer),
        task=task,
        question=question,
        answer=answer,
        domain=settings.domain,
        language=language,
        provenance=chunk.provenance,
        model=llm.label,
        prompt_version=version,
        **extra,
    )


def _qa_schema(count: int) -> dict[str, Any]:
    """The pairs schema with ``evidence`` required, so a grammar-constrained model always writes its quote:
    evidence, question and answer come from one call and the evidence costs no call of its own."""
    schema = exact_items_schema(QAPairs, "pairs", count)
    pair = schema["$defs"]["QAPair"]
    pair["required"] = ["evidence", "question", "answer"]
    return schema


async def generate_qa(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    count: int | None = None,
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> GenerationResult:
    """Ask ``llm`` for grounded Q&A pairs about ``chunk``; every pair comes back as a :class:`Sample`.

    Model reasoning (``reasoning_content`` or ``<think>``) is kept only when the call produced a single
    pair: one trace written for a whole batch does not belong to any one of its samples."""
    settings = settings or BuildSettings()
    wanted = count or question_count(chunk, settings)
    language, version, call = await call_about_chunk(
        "qa_generate", chunk, llm, settings, QAPairs, prompt_dir, examples, schema=_qa_schema(wanted), count=wanted
    )
    if call.value is None:
        return GenerationResult.call_failed(chunk, "generation", call, version)
    assert isinstance(call.value, QAPairs)
    reasoning = call.reasoning if len(call.value.pairs) == 1 else None
    samples = [
        make_sample(
            chunk,
            llm,
            settings,
            language,
            version,
            question=pair.question,
            answer=pair.answer,
            reasoning=reasoning,
            evidence=locate_evidence(chunk, pair.evidence, pair.answer) if pair.evidence.strip() else [],
        )
        for pair in call.value.pairs
    ]
    return GenerationResult(chunk.chunk_id, samples, call.usage, None, version)
