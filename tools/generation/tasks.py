"""Every task type beyond plain Q&A, each a plain function over a chunk (or a topic) and a model.

- :func:`generate_cot`: question, reasoning steps, answer (the model's own reasoning_content / ``<think>``
  is used when a call yields one item and the backend gave one; otherwise the written steps are the CoT).
- :func:`generate_dialogues`: multi-turn dialogues grounded in the chunk.
- :func:`generate_classification`: ``{text, label}`` records: passages quoted from the chunk, labelled from
  a label tree; no review call, because both halves are checked mechanically (quote in source, label in tree).
- :func:`distill_topic`: no documents: topic -> tag tree -> questions per tag -> answers.
- :func:`preference_pairs`: two candidate answers per question, scored by the reviewer; the better is
  ``chosen``, the worse ``rejected``; every scored candidate is also a reward-scored record.
- :func:`reward_records`: reward-scored records from reviewed samples, at no extra call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import BuildSettings
from ftds.tools.generation.examples import FewShotExample
from ftds.tools.generation.generate import (
    GenerationResult,
    call_about_chunk,
    call_structured,
    chunk_language,
    failure_outcome,
    make_sample,
    prompt_context,
    question_count,
)
from ftds.tools.generation.labels import LabelTree
from ftds.tools.generation.review import lexical_support, review_samples
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, ItemOutcome, Provenance, ReviewVerdict, Sample, TokenUsage, content_hash

# ---------------------------------------------------------------- chain of thought


class CotItem(BaseModel):
    question: str
    steps: list[str] = Field(description="Reasoning steps from the source to the answer.")
    answer: str


class CotItems(BaseModel):
    items: list[CotItem]


async def generate_cot(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    count: int | None = None,
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> GenerationResult:
    settings = settings or BuildSettings()
    wanted = count or question_count(chunk, settings)
    language, version, call = await call_about_chunk(
        "cot_generate", chunk, llm, settings, CotItems, prompt_dir, examples, count=wanted
    )
    if call.value is None:
        return GenerationResult.call_failed(chunk, "cot", call, version)
    assert isinstance(call.value, CotItems)
    model_reasoning = call.reasoning if len(call.value.items) == 1 else None
    samples = []
    for item in call.value.items:
        steps = [s.strip() for s in item.steps if s.strip()]
        samples.append(
            make_sample(
                chunk,
                llm,
                settings,
                language,
                version,
                task="cot",
                question=item.question,
                answer=item.answer,
                chain_of_thought=steps,
                reasoning=model_reasoning or "\n".join(steps) or None,
            )
        )
    return GenerationResult(chunk.chunk_id, samples, call.usage, None, version)


# ---------------------------------------------------------------- dialogues


class Turn(BaseModel):
    role: str
    content: str


class Dialogue(BaseModel):
    turns: list[Turn]


class Dialogues(BaseModel):
    dialogues: list[Dialogue]


def dialogue_problem(turns: Sequence[Turn]) -> str | None:
    """Why a dialogue cannot be a training record (trainers skip those), or None when it can."""
    if len(turns) < 2 or len(turns) % 2:
        return f"{len(turns)} turns: a dialogue needs an even number, at least 2"
    for index, turn in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if turn.role != expected:
            return f"turn {index + 1} is from {turn.role!r}, expected {expected}"
        if not turn.content.strip():
            return f"turn {index + 1} is empty"
    return None


async def generate_dialogues(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    count: int = 1,
    turns: int = 3,
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> GenerationResult:
    """``count`` dialogues of ``turns`` user/assistant exchanges; a malformed one is a recorded failure."""
    settings = settings or BuildSettings()
    language, version, call = await call_about_chunk(
        "dialogue_generate", chunk, llm, settings, Dialogues, prompt_dir, examples, count=count, turns=turns
    )
    if call.value is None:
        return GenerationResult.call_failed(chunk, "dialogue", call, version)
    assert isinstance(call.value, Dialogues)
    result = GenerationResult(chunk.chunk_id, [], call.usage, None, version)
    for number, dialogue in enumerate(call.value.dialogues, 1):
        problem = dialogue_problem(dialogue.turns)
        if problem is not None:
            result.failed.append(
                ItemOutcome(
                    item_id=f"{chunk.chunk_id}#dialogue{number}",
                    kind="sample",
                    status="failed",
                    reason=Reason.DIALOGUE_BAD_TURNS,
                    detail=problem,
                )
            )
            continue
        result.samples.append(
            make_sample(
                chunk,
                llm,
                settings,
                language,
                version,
                task="dialogue",
                question=dialogue.turns[0].content,
                answer=dialogue.turns[-1].content,
                turns=[{"role": t.role, "content": t.content.strip()} for t in dialogue.turns],
            )
        )
    return result


# ---------------------------------------------------------------- text classification

QUOTE_SUPPORT = 0.8


class ClassifiedText(BaseModel):
    text: str
    label: str


class ClassifiedTexts(BaseModel):
    records: list[ClassifiedText]


async def generate_classification(
    chunk: Chunk,
    tree: LabelTree,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    count: int | None = None,
    prompt_dir: Path | None = None,
) -> GenerationResult:
    """``{text, label}`` records; a text not taken from the source or a label not in the tree is rejected."""
    settings = settings or BuildSettings()
    wanted = count or question_count(chunk, settings)
    labels = "\n".join(f"- {p}" for p in tree.paths())
    language, version, call = await call_about_chunk(
        "classify_generate", chunk, llm, settings, ClassifiedTexts, prompt_dir, [], count=wanted, labels=labels
    )
    if call.value is None:
        return GenerationResult.call_failed(chunk, "classification", call, version)
    assert isinstance(call.value, ClassifiedTexts)
    result = GenerationResult(chunk.chunk_id, [], call.usage, None, version)
    for number, record in enumerate(call.value.records, 1):
        label = tree.resolve(record.label)
        reason = None
        if not record.text.strip():
            reason, detail = Reason.CLASSIFICATION_EMPTY_TEXT, "the model returned an empty text"
        elif lexical_support(record.text, chunk.text, language) < QUOTE_SUPPORT:
            reason, detail = Reason.CLASSIFICATION_TEXT_NOT_IN_SOURCE, record.text[:200]
        elif label is None:
            reason, detail = Reason.CLASSIFICATION_LABEL_NOT_IN_TREE, f"label {record.label!r} is not in the tree"
        if reason is not None:
            result.failed.append(
                ItemOutcome(
                    item_id=f"{chunk.chunk_id}#record{number}",
                    kind="sample",
                    status="rejected",
                    reason=reason,
                    detail=detail,
                )
            )
            continue
        assert label is not None
        result.samples.append(
            make_sample(
                chunk,
                llm,
                settings,
                language,
                version,
                task="classification",
                question=record.text,
                answer=label,
                label=label,
            )
        )
    return result


# ---------------------------------------------------------------- distillation from a topic


class TagNode(BaseModel):
    name: str
    subtopics: list[str] = Field(default_factory=list)


class TagTree(BaseModel):
    tags: list[TagNode]


class Questions(BaseModel):
    questions: list[str]


class IndexedAnswer(BaseModel):
    index: int
    answer: str


class Answers(BaseModel):
    answers: list[IndexedAnswer]


def topic_chunk(topic: str, tag_path: Sequence[str]) -> Chunk:
    """A stand-in chunk for distilled samples: provenance says 'topic:…' and the tag path, no file span."""
    chunk_id = content_hash("topic", topic, *tag_path)
    text = " > ".join([topic, *tag_path])
    return Chunk(
        chunk_id=chunk_id,
        doc_id=content_hash("topic", topic),
        index=0,
        text=text,
        provenance=Provenance(
            source=f"topic:{topic}", char_start=0, char_end=0, heading_path=[topic, *tag_path], chunk_id=chunk_id
        ),
    )


@dataclass
class DistillResult:
    topic: str
    tag_paths: list[list[str]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)


async def _answer_questions(
    template_name: str,
    chunk: Chunk,
    questions: Sequence[str],
    llm: ChatModel,
    settings: BuildSettings,
    language: str,
    *,
    temperature: float | None = None,
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> tuple[dict[int, str], TokenUsage, ItemOutcome | None, str]:
    numbered = "\n".join(f"{n}. {q}" for n, q in enumerate(questions, 1))
    _, version, call = await call_about_chunk(
        template_name,
        chunk,
        llm,
        settings,
        Answers,
        prompt_dir,
        examples,
        language=language,
        temperature=temperature,
        questions=numbered,
    )
    if call.value is None:
        return {}, call.usage, failure_outcome(chunk.chunk_id, "answer", call), version
    assert isinstance(call.value, Answers)
    return {a.index: a.answer for a in call.value.answers}, call.usage, None, version


async def distill_topic(
    topic: str,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    *,
    tags: int = 4,
    questions_per_tag: int = 3,
    language: str = "zh",
    prompt_dir: Path | None = None,
    examples: list[FewShotExample] | None = None,
) -> DistillResult:
    """Topic -> tag tree (1 call) -> questions per leaf tag (1 call each) -> answers (1 call each), the
    per-tag calls running concurrently. Samples carry their tag path as label; review them with
    ``review_samples(topic_chunk(...), ..., grounded=False)``."""
    settings = settings or BuildSettings()
    result = DistillResult(topic=topic)
    ctx = prompt_context("distill_tags", language, settings, prompt_dir, examples=[])
    call = await call_structured(llm, ctx.render(topic=topic, count=tags), TagTree)
    result.usage = call.usage
    if call.value is None:
        result.failed.append(failure_outcome(f"topic:{topic}", "distill_tags", call))
        return result
    assert isinstance(call.value, TagTree)
    for node in call.value.tags[:tags]:
        name = node.name.strip()
        leaves = [s.strip() for s in node.subtopics if s.strip()]
        result.tag_paths.extend([[name, leaf] for leaf in leaves] or [[name]])

    async def one_tag(path: list[str]) -> tuple[list[Sample], list[ItemOutcome], TokenUsage]:
        chunk = topic_chunk(topic, path)
        q_ctx = prompt_context("distill_questions", language, settings, prompt_dir, examples)
        q_call = await call_structured(
            llm, q_ctx.render(topic=topic, tag_path=" > ".join(path), count=questions_per_tag), Questions
        )
        if q_call.value is None:
            return [], [failure_outcome(chunk.chunk_id, "distill_questions", q_call)], q_call.usage
        assert isinstance(q_call.value, Questions)
        questions = [q.strip() for q in q_call.value.questions if q.strip()][:questions_per_tag]
        answers, a_usage, failure, version = await _answer_questions(
            "distill_answer", chunk, questions, llm, settings, language, prompt_dir=prompt_dir, examples=examples
        )
        usage = q_call.usage + a_usage
        if failure is not None:
            return [], [failure], usage
        samples: list[Sample] = []
        failed: list[ItemOutcome] = []
        for number, question in enumerate(questions, 1):
            answer = answers.get(number, "").strip()
            if not answer:
                failed.append(
                    ItemOutcome(
                        item_id=f"{chunk.chunk_id}#q{number}",
                        kind="sample",
                        status="failed",
                        reason=Reason.ANSWER_MISSING,
                        detail=f"no answer for: {question[:200]}",
                    )
                )
                continue
            samples.append(
                make_sample(
                    chunk,
                    llm,
                    settings,
                    language,
                    f"{q_ctx.template.version}+{version}",
                    task="distill",
                    question=question,
                    answer=answer,
                    label="/".join(path),
                )
            )
        return samples, failed, usage

    for samples, failed, usage in await asyncio.gather(*(one_tag(p) for p in result.tag_paths)):
        result.samples.extend(samples)
        result.failed.extend(failed)
        result.usage = result.usage + usage
    return result


# ---------------------------------------------------------------- preference pairs and reward scores

CANDIDATE_TEMPERATURES = (0.2, 1.0)
MIN_PREFERENCE_MARGIN = 0.05


@dataclass
class PreferenceResult:
    pairs: list[Sample] = field(default_factory=list)
    rewards: list[Sample] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    generator_usage: TokenUsage = field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = field(default_factory=TokenUsage)


async def preference_pairs(
    chunk: Chunk,
    questions: Sequence[str],
    generator: ChatModel,
    reviewer: ChatModel,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
) -> PreferenceResult:
    """Two candidate answers per question (two calls at different temperatures, run together), one review
    call scoring all of them; chosen = the higher score, which must itself pass the accept threshold."""
    settings = settings or BuildSettings()
    language = chunk_language(chunk, settings.language)
    result = PreferenceResult()
    outcomes = await asyncio.gather(
        *(
            _answer_questions(
                "qa_answer", chunk, questions, generator, settings, language, temperature=t, prompt_dir=prompt_dir
            )
            for t in CANDIDATE_TEMPERATURES
        )
    )
    candidates: list[list[Sample | None]] = [[] for _ in questions]
    for answers, usage, failure, version in outcomes:
        result.generator_usage = result.generator_usage + usage
        for number, question in enumerate(questions, 1):
            answer = answers.get(number, "").strip() if failure is None else ""
            candidates[number - 1].append(
                make_sample(chunk, generator, settings, language, version, question=question, answer=answer)
                if answer
                else None
            )
    reviewable = [c for pair in candidates for c in pair if c is not None]
    review = await review_samples(chunk, reviewable, reviewer, settings, prompt_dir=prompt_dir)
    result.reviewer_usage = review.usage
    for number, (question, pair) in enumerate(zip(questions, candidates, strict=True), 1):
        item_id = content_hash(chunk.chunk_id, "preference", question)
        scored: list[tuple[Sample, ReviewVerdict]] = []
        for candidate in pair:
            verdict = review.scored.get(candidate.sample_id) if candidate is not None else None
            if candidate is not None and verdict is not None:
                scored.append((candidate, verdict))
        for candidate, verdict in scored:
            result.rewards.append(
                candidate.model_copy(
                    update={"task": "reward", "review": verdict, "reward_score": round(verdict.total * 5, 2)}
                )
            )
        if len(scored) < 2 or scored[0][0].answer == scored[1][0].answer:
            why = "identical candidates" if len(scored) == 2 else f"{len(scored)} of 2 candidates were scored"
            result.failed.append(
                ItemOutcome(
                    item_id=item_id,
                    kind="sample",
                    status="failed",
                    reason=Reason.PREFERENCE_CANDIDATES_MISSING,
                    detail=f"question {number}: {why}",
                )
            )
            continue
        (best, best_v), (worst, worst_v) = sorted(scored, key=lambda cv: cv[1].total, reverse=True)
        if best_v.total - worst_v.total < MIN_PREFERENCE_MARGIN:
            reason, detail = Reason.PREFERENCE_TIE, f"scores {best_v.total:.2f} and {worst_v.total:.2f} are too close"
        elif best_v.decision != "accept":
            reason, detail = (
                Reason.PREFERENCE_NO_GOOD_CANDIDATE,
                f"best score {best_v.total:.2f} is below the threshold",
            )
        else:
            result.pairs.append(
                best.model_copy(
                    update={
                        "sample_id": item_id,
                        "task": "preference",
                        "rejected_answer": worst.answer,
                        "review": best_v,
                    }
                )
            )
            continue
        result.rejected.append(
            ItemOutcome(item_id=item_id, kind="sample", status="rejected", reason=reason, detail=detail)
        )
    return result


def reward_records(samples: Sequence[Sample]) -> list[Sample]:
    """Reward-scored copies (0..5 from the review total) of the samples that have a review."""
    return [
        s.model_copy(update={"task": "reward", "reward_score": round(s.review.total * 5, 2)})
        for s in samples
        if s.review is not None
    ]
