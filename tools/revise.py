"""Revise samples with the reviewer's feedback: the generator rewrites each flagged pair in one call per chunk.

The sample keeps its id (it is the same unit of work, now improved) and counts one more revision round; the
caller sends the revised samples back to the reviewer. A pair the model leaves out is a recorded failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from ftds.tools.config import BuildSettings
from ftds.tools.generate import GenerationResult, call_structured, chunk_language, prompt_context
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import Chunk, ItemOutcome, ReviewVerdict, Sample, TokenUsage


class RevisedPair(BaseModel):
    index: int
    question: str
    answer: str


class RevisedPairs(BaseModel):
    revised: list[RevisedPair]


def feedback_text(verdict: ReviewVerdict | str) -> str:
    """The reviewer's feedback, from a verdict (its rationale when it gave no feedback) or as plain text."""
    if isinstance(verdict, str):
        return verdict
    return verdict.feedback or verdict.rationale


def _format_items(items: Sequence[tuple[Sample, ReviewVerdict | str]]) -> str:
    return "\n".join(
        f"{n}. Q: {sample.question}\n   A: {sample.answer}\n   Feedback: {feedback_text(verdict)}"
        for n, (sample, verdict) in enumerate(items, 1)
    )


async def revise_samples(
    chunk: Chunk,
    items: Sequence[tuple[Sample, ReviewVerdict | str]],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
) -> GenerationResult:
    """Rewrite each (sample, verdict or feedback text) against the source; one call for all of them."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    ctx = prompt_context("qa_revise", language, settings, prompt_dir, examples=[])
    if not items:
        return GenerationResult(chunk.chunk_id, [], TokenUsage(), None, ctx.template.version)
    messages = ctx.render(
        heading_path=chunk.heading_context or chunk.provenance.source, chunk=chunk.text, items=_format_items(items)
    )
    call = await call_structured(llm, messages, RevisedPairs)
    result = GenerationResult(chunk.chunk_id, [], call.usage, None, ctx.template.version)
    by_index: dict[int, RevisedPair] = {}
    if call.value is not None:
        assert isinstance(call.value, RevisedPairs)
        by_index = {pair.index: pair for pair in call.value.revised}
    for number, (sample, _verdict) in enumerate(items, 1):
        pair = by_index.get(number)
        if pair is None:
            reason = f"revision:{call.failure_reason}" if call.value is None else "revision:missing_pair"
            detail = call.failure_detail if call.value is None else f"the model returned no revision for pair {number}"
            result.failed.append(
                ItemOutcome(item_id=sample.sample_id, kind="sample", status="failed", reason=reason, detail=detail)
            )
            continue
        result.samples.append(
            sample.model_copy(
                update={
                    "question": pair.question.strip(),
                    "answer": pair.answer.strip(),
                    "review": None,
                    "revision_rounds": sample.revision_rounds + 1,
                    "model": llm.label,
                }
            )
        )
    return result
