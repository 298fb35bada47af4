"""Review generated samples against their source: a cheap lexical pre-check, then one LLM rubric call.

The pre-check rejects what needs no model to judge (empty, too short, a copy of the whole source, an answer
with no lexical support in the source, the wrong language). Everything left is scored by the reviewer model
in one call per chunk on four dimensions; the weighted total against the threshold gives the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.citations import invented_citations
from ftds.tools.config import BuildSettings
from ftds.tools.generate import call_structured, chunk_language, exact_items_schema
from ftds.tools.language import detect_language
from ftds.tools.llm.base import ChatModel
from ftds.tools.prompts import domain_preset, load_template
from ftds.tools.records import Chunk, ItemOutcome, ReviewScores, ReviewVerdict, Sample, TokenUsage

WEIGHTS = {"grounded": 0.4, "question": 0.2, "answer": 0.3, "language": 0.1}
MIN_QUESTION_CHARS = 5
MIN_ANSWER_CHARS = 2
MIN_SUPPORT = 0.3
COPY_FRACTION = 0.8


def _grams(text: str, language: str) -> set[str]:
    text = text.lower()
    if language == "zh":
        chars = re.sub(r"[\s\W_]+", "", text)
        return {chars[i : i + 2] for i in range(len(chars) - 1)}
    return set(re.findall(r"[a-z0-9]+", text))


def lexical_support(answer: str, source: str, language: str) -> float:
    """Share of the answer's character bigrams (zh) or words (en) that occur in the source."""
    answer_grams = _grams(answer, language)
    if not answer_grams:
        return 0.0
    return len(answer_grams & _grams(source, language)) / len(answer_grams)


def precheck(sample: Sample, source: str, language: str) -> str | None:
    """Reason code for an obviously bad sample, or None when it deserves a model review.

    Citing an article the source does not contain counts as invented in every domain: a sample is trained
    on its source alone, so a citation from elsewhere cannot be checked and is a hallucination risk."""
    question, answer = sample.question.strip(), sample.answer.strip()
    if not question or not answer:
        return "precheck:empty"
    if len(question) < MIN_QUESTION_CHARS or len(answer) < MIN_ANSWER_CHARS:
        return "precheck:too_short"
    compact_source = re.sub(r"\s+", "", source)
    compact_answer = re.sub(r"\s+", "", answer)
    if len(compact_answer) >= COPY_FRACTION * len(compact_source) and compact_answer in compact_source:
        return "precheck:copied_source"
    if detect_language(question + " " + answer) != language:
        return "precheck:wrong_language"
    if lexical_support(answer, source, language) < MIN_SUPPORT:
        return "precheck:unsupported"
    if invented_citations(question + " " + answer, source):
        return "precheck:invented_citation"
    return None


class PairReview(BaseModel):
    index: int = Field(description="1-based number of the pair being reviewed.")
    grounded: int = Field(ge=1, le=5)
    question: int = Field(ge=1, le=5)
    answer: int = Field(ge=1, le=5)
    language: int = Field(ge=1, le=5)
    rationale: str = ""
    feedback: str = ""


class ReviewBatch(BaseModel):
    reviews: list[PairReview]


def verdict_from(review: PairReview, threshold: float, reviewer: str) -> ReviewVerdict:
    scores = ReviewScores(
        grounded=(review.grounded - 1) / 4,
        question=(review.question - 1) / 4,
        answer=(review.answer - 1) / 4,
        language=(review.language - 1) / 4,
    )
    total = round(sum(getattr(scores, name) * weight for name, weight in WEIGHTS.items()), 4)
    return ReviewVerdict(
        decision="accept" if total >= threshold else "reject",
        total=total,
        scores=scores,
        rationale=review.rationale,
        feedback=review.feedback,
        reviewer=reviewer,
    )


@dataclass
class ReviewResult:
    verdicts: dict[str, ReviewVerdict] = field(default_factory=dict)
    rejected: list[ItemOutcome] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    prompt_version: str = ""


def _format_pairs(samples: list[Sample]) -> str:
    return "\n".join(
        f"{number}. Q: {sample.question}\n   A: {sample.answer}" for number, sample in enumerate(samples, 1)
    )


async def review_samples(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
) -> ReviewResult:
    """Verdict for every sample: accepted ones in ``verdicts``, the rest rejected or failed with a reason."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    result = ReviewResult()
    to_review: list[Sample] = []
    for sample in samples:
        reason = precheck(sample, chunk.text, language)
        if reason is None:
            to_review.append(sample)
        else:
            result.rejected.append(
                ItemOutcome(
                    item_id=sample.sample_id,
                    kind="sample",
                    status="rejected",
                    reason=reason,
                    detail=sample.question[:200],
                )
            )
    if not to_review:
        return result
    template = load_template("qa_review", language, prompt_dir)
    result.prompt_version = template.version
    preset = domain_preset(settings.domain, language, prompt_dir)
    reviews: dict[str, PairReview] = {}
    pending = list(to_review)
    failure = ("", "")
    # One batched call; pairs the reviewer skipped get one more call of their own before they count as failed.
    for _ in range(2):
        messages = template.render(
            domain_name=preset.name,
            domain_guidance=preset.review_guidance,
            chunk=chunk.text,
            pairs=_format_pairs(pending),
            n_pairs=len(pending),
        )
        call = await call_structured(
            llm, messages, ReviewBatch, exact_items_schema(ReviewBatch, "reviews", len(pending))
        )
        result.usage = result.usage + call.usage
        if call.value is None:
            failure = (f"review:{call.failure_reason}", call.failure_detail)
            break
        assert isinstance(call.value, ReviewBatch)
        by_number = {review.index: review for review in call.value.reviews}
        for number, sample in enumerate(pending, 1):
            if number in by_number:
                reviews[sample.sample_id] = by_number[number]
        pending = [sample for sample in pending if sample.sample_id not in reviews]
        if not pending:
            break
    for sample in to_review:
        review = reviews.get(sample.sample_id)
        if review is None:
            reason, detail = failure if failure[0] else ("review:missing_score", "the reviewer returned no score")
            result.failed.append(
                ItemOutcome(item_id=sample.sample_id, kind="sample", status="failed", reason=reason, detail=detail)
            )
            continue
        verdict = verdict_from(review, settings.accept_threshold, llm.label)
        if verdict.decision == "accept":
            result.verdicts[sample.sample_id] = verdict
        else:
            result.rejected.append(
                ItemOutcome(
                    item_id=sample.sample_id,
                    kind="sample",
                    status="rejected",
                    reason="review:below_threshold",
                    detail=f"score {verdict.total:.2f} < {settings.accept_threshold:.2f}: {verdict.rationale}",
                )
            )
    return result
