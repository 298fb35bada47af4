"""Revise samples with the reviewer's feedback: the generator rewrites each flagged pair in one call per chunk.

The sample keeps its id (it is the same unit of work, now improved) and counts one more revision round; the
caller sends the revised samples back to the reviewer. A pair the model leaves out is a recorded failure.

A pair the pre-check flagged because its "question" is a statement or a heading gets a narrower call of its
own (``qa_question_form``): write the question this answer answers. Small models asked to revise such a pair
alongside others, with the whole source in the prompt, mostly hand the statement back unchanged; asked only
for the question, they write one.

A pair the key_terms check sent back (an act's penalty given as what the act is) gets its question from code,
with no call: the act, then 如何处罚 (:func:`~ftds.tools.generation.checks.penalty_question`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import KEY_TERMS, penalty_question
from ftds.tools.generation.generate import (
    GenerationResult,
    PromptContext,
    StructuredCall,
    call_structured,
    chunk_language,
    exact_items_schema,
    prompt_context,
)
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason, Stage, call_failure
from ftds.tools.records import Chunk, ItemOutcome, ReviewVerdict, Sample, TokenUsage

Flagged = tuple[Sample, ReviewVerdict | str]  # a sample and its verdict, or plain feedback text


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


def _format_items(items: Sequence[Flagged]) -> str:
    return "\n".join(
        f"{n}. Q: {sample.question}\n   A: {sample.answer}\n   Feedback: {feedback_text(verdict)}"
        for n, (sample, verdict) in enumerate(items, 1)
    )


class AskedQuestion(BaseModel):
    index: int
    question: str


class AskedQuestions(BaseModel):
    questions: list[AskedQuestion]


def _needs_question_form(verdict: ReviewVerdict | str) -> bool:
    return (
        isinstance(verdict, ReviewVerdict) and verdict.from_precheck and verdict.rationale == "precheck:not_a_question"
    )


def _asks_for_the_penalty(verdict: ReviewVerdict | str) -> bool:
    """A pair the key_terms check sent back: its answer is an act's penalty, its question asks what the act is
    (the only key_terms failure the review sends back rather than rejects)."""
    return isinstance(verdict, ReviewVerdict) and verdict.from_code and verdict.rationale == f"check:{KEY_TERMS}"


PENALTY_QUESTION_VERSION = "code:penalty_question@1"
"""Recorded as the revision's prompt version: the new question was cut from the answer by code, no model call."""


def _penalty_questions(chunk: Chunk, items: Sequence[Flagged]) -> GenerationResult:
    """Ask each answer's own question, written by code (:func:`checks.penalty_question`): the 1.5B, asked to
    rewrite "什么是<act>？" for a penalty answer, wrote no question the answer answers in 18 tries (round 11 of
    the labelled set: 10 came back unchanged, 6 asked for a name, a definition or the article's text, 2 were
    the answer with a question mark). The answer, the sample's model and its generation prompt stay as they
    were."""
    result = GenerationResult(chunk.chunk_id, [], TokenUsage(), None, PENALTY_QUESTION_VERSION)
    for sample, _verdict in items:
        question = penalty_question(sample.answer)
        if question is None:
            result.failed.append(
                ItemOutcome(
                    item_id=sample.sample_id,
                    kind="sample",
                    status="failed",
                    reason=Reason.REVISION_MISSING_PAIR,
                    detail="no act before the penalty to ask about",
                )
            )
            continue
        update = {"question": question, "review": None, "revision_rounds": sample.revision_rounds + 1}
        result.samples.append(sample.model_copy(update=update))
    return result


async def revise_samples(
    chunk: Chunk,
    items: Sequence[Flagged],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
) -> GenerationResult:
    """Rewrite each (sample, verdict or feedback text) against the source: one call for all of them, and one
    more for the pairs whose question must be put as a question (the two run concurrently); a penalty asked as
    what an act is gets its question from code, with no call."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    penalty = [item for item in items if _asks_for_the_penalty(item[1])]
    form = [item for item in items if _needs_question_form(item[1])]
    rest = [item for item in items if not _needs_question_form(item[1]) and not _asks_for_the_penalty(item[1])]
    calls = []
    if rest:
        ctx = prompt_context("qa_revise", language, settings, prompt_dir, examples=[])
        calls.append(_rewrite_pairs(chunk, rest, llm, ctx))
    if form:
        ctx = prompt_context("qa_question_form", language, settings, prompt_dir, examples=[])
        calls.append(_ask_as_questions(chunk, form, llm, ctx))
    parts = list(await asyncio.gather(*calls))
    if penalty:
        parts.append(_penalty_questions(chunk, penalty))
    version = "+".join(part.prompt_version for part in parts)
    result = GenerationResult(chunk.chunk_id, [], TokenUsage(), None, version)
    for part in parts:
        result.samples += part.samples
        result.failed += part.failed
        result.usage = result.usage + part.usage
    return result


async def _rewrite_pairs(
    chunk: Chunk, items: Sequence[Flagged], llm: ChatModel, ctx: PromptContext
) -> GenerationResult:
    messages = ctx.render(
        heading_path=chunk.heading_context or chunk.provenance.source, chunk=chunk.text, items=_format_items(items)
    )
    call = await call_structured(llm, messages, RevisedPairs, exact_items_schema(RevisedPairs, "revised", len(items)))
    by_index: dict[int, tuple[str, str]] = {}
    if call.value is not None:
        assert isinstance(call.value, RevisedPairs)
        by_index = {pair.index: (pair.question, pair.answer) for pair in call.value.revised}
    return _revised(chunk, items, by_index, call, llm, ctx.template.version)


async def _ask_as_questions(
    chunk: Chunk, items: Sequence[Flagged], llm: ChatModel, ctx: PromptContext
) -> GenerationResult:
    listed = "\n".join(f"{n}. Q: {sample.question}\n   A: {sample.answer}" for n, (sample, _) in enumerate(items, 1))
    schema = exact_items_schema(AskedQuestions, "questions", len(items))
    call = await call_structured(llm, ctx.render(items=listed), AskedQuestions, schema)
    by_index: dict[int, tuple[str, str]] = {}
    if call.value is not None:
        assert isinstance(call.value, AskedQuestions)
        answers = {n: sample.answer for n, (sample, _) in enumerate(items, 1)}
        by_index = {q.index: (q.question, answers[q.index]) for q in call.value.questions if q.index in answers}
    return _revised(chunk, items, by_index, call, llm, ctx.template.version)


def _revised(
    chunk: Chunk,
    items: Sequence[Flagged],
    by_index: dict[int, tuple[str, str]],
    call: StructuredCall,
    llm: ChatModel,
    version: str,
) -> GenerationResult:
    """The revised samples (same id, one more round) and a failure for every pair the model left out."""
    result = GenerationResult(chunk.chunk_id, [], call.usage, None, version)
    for number, (sample, _verdict) in enumerate(items, 1):
        pair = by_index.get(number)
        if pair is None:
            reason = (
                call_failure(Stage.REVISION, call.failure_reason)
                if call.value is None
                else Reason.REVISION_MISSING_PAIR
            )
            detail = call.failure_detail if call.value is None else f"the model returned no revision for pair {number}"
            result.failed.append(
                ItemOutcome(item_id=sample.sample_id, kind="sample", status="failed", reason=reason, detail=detail)
            )
            continue
        question, answer = pair
        result.samples.append(
            sample.model_copy(
                update={
                    "question": question.strip(),
                    "answer": answer.strip(),
                    "review": None,
                    "revision_rounds": sample.revision_rounds + 1,
                    "model": llm.label,
                }
            )
        )
    return result
