"""The task table: one entry per task type — how its samples are drafted from a chunk, whether they go through
the review -> revise loop, and which record shape they are written in.

The per-chunk flow (``agents/chunk_flow.py``) and the exporter read this table instead of branching on task
names, so a new task is one module with its draft function plus one :class:`TaskSpec` here (and its name in
``config.BuildTask``, the list settings validate against).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ftds.tools.config import BuildSettings
from ftds.tools.generation.generate import GenerationResult, generate_qa, question_count
from ftds.tools.generation.labels import LabelTree
from ftds.tools.generation.tasks import (
    generate_classification,
    generate_cot,
    generate_dialogues,
    preference_pairs,
    reward_records,
)
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, ItemOutcome, Sample, TokenUsage


@dataclass(frozen=True)
class DraftInputs:
    """What a draft function may use: both roles' models, the build settings and the label tree (if any)."""

    generator: ChatModel
    reviewer: ChatModel
    settings: BuildSettings
    labels: LabelTree | None = None


@dataclass
class Draft:
    """A chunk's first draft. ``pending`` samples still need the reviewer; everything else is decided:
    ``accepted`` (checked inside the draft, e.g. scored preference pairs), ``rejected``, ``failed``, or the
    whole chunk failed (``chunk_failure``). ``generated`` counts every item the generator produced."""

    pending: list[Sample] = field(default_factory=list)
    accepted: list[Sample] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    chunk_failure: ItemOutcome | None = None
    generated: int = 0
    generator_usage: TokenUsage = field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = field(default_factory=TokenUsage)


DraftFn = Callable[[Chunk, DraftInputs], Awaitable[Draft]]
LlamaFactoryKind = Literal["sft", "ranking"]
"""How LLaMA-Factory registers a task's trainer files: ``sft`` (prompt -> response; trained with ``stage: sft``)
or ``ranking`` (``ranking: true`` with chosen/rejected; ``stage: dpo`` or ``rm``)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    draft: DraftFn
    reviewed: bool
    """True: drafted samples go through review -> revise -> review. False: the draft decides them itself."""
    record_format: str
    """The task-shaped record (a format name of ``ftds.tools.formats.REGISTRY``) written to ``task/{split}.jsonl``."""
    llamafactory: LlamaFactoryKind = "sft"
    """How the build's trainer files (alpaca/sharegpt/openai) are registered in ``dataset_info.json``."""
    after_review: Callable[[Sequence[Sample]], list[Sample]] | None = None
    """Applied to the accepted samples before dedupe (reward: review scores become reward records)."""
    needs_labels: bool = False


def no_output(chunk: Chunk) -> ItemOutcome:
    return ItemOutcome(
        item_id=chunk.chunk_id,
        kind="chunk",
        status="failed",
        reason=Reason.GENERATION_NO_PAIRS,
        detail="the model returned nothing for this chunk",
    )


def from_generation(chunk: Chunk, made: GenerationResult, *, reviewed: bool = True) -> Draft:
    """A draft from one generation call: its samples pending review (or accepted when the call checked them
    mechanically), per-item failures kept, and a call that gave nothing is a chunk failure."""
    draft = Draft(failed=list(made.failed), generator_usage=made.usage)
    draft.generated = len(made.samples) + len(made.failed)
    if made.failure is not None:
        draft.chunk_failure = made.failure
    elif not made.samples and not made.failed:
        draft.chunk_failure = no_output(chunk)
    elif reviewed:
        draft.pending = list(made.samples)
    else:
        draft.accepted = list(made.samples)
    return draft


async def draft_qa(chunk: Chunk, inputs: DraftInputs) -> Draft:
    return from_generation(chunk, await generate_qa(chunk, inputs.generator, inputs.settings))


async def draft_cot(chunk: Chunk, inputs: DraftInputs) -> Draft:
    return from_generation(chunk, await generate_cot(chunk, inputs.generator, inputs.settings))


async def draft_dialogue(chunk: Chunk, inputs: DraftInputs) -> Draft:
    count = max(1, question_count(chunk, inputs.settings) // 2)
    return from_generation(chunk, await generate_dialogues(chunk, inputs.generator, inputs.settings, count=count))


async def draft_classification(chunk: Chunk, inputs: DraftInputs) -> Draft:
    """Classification records are checked mechanically (quote in source, label in tree): no review call."""
    if inputs.labels is None:
        return Draft(
            chunk_failure=ItemOutcome(
                item_id=chunk.chunk_id,
                kind="chunk",
                status="failed",
                reason=Reason.CLASSIFICATION_NO_LABEL_TREE,
                detail="classification needs labels: give --label-tree FILE or leave labels on auto",
            )
        )
    made = await generate_classification(chunk, inputs.labels, inputs.generator, inputs.settings)
    return from_generation(chunk, made, reviewed=False)


async def draft_preference(chunk: Chunk, inputs: DraftInputs) -> Draft:
    """Questions from the Q&A prompt, then two candidate answers each, scored by the reviewer."""
    questions = await generate_qa(chunk, inputs.generator, inputs.settings)
    if questions.failure is not None or not questions.samples:
        return Draft(chunk_failure=questions.failure or no_output(chunk), generator_usage=questions.usage)
    pairs = await preference_pairs(
        chunk, [s.question for s in questions.samples], inputs.generator, inputs.reviewer, inputs.settings
    )
    return Draft(
        accepted=pairs.pairs,
        rejected=pairs.rejected,
        failed=pairs.failed,
        generated=len(questions.samples),
        generator_usage=questions.usage + pairs.generator_usage,
        reviewer_usage=pairs.reviewer_usage,
    )


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("qa", "grounded question-answer pairs", draft_qa, reviewed=True, record_format="alpaca"),
        TaskSpec("cot", "question, reasoning steps, answer", draft_cot, reviewed=True, record_format="cot"),
        TaskSpec("dialogue", "multi-turn dialogues", draft_dialogue, reviewed=True, record_format="dialogue"),
        TaskSpec(
            "classification",
            "source passages with a label from the label tree",
            draft_classification,
            reviewed=False,
            record_format="classification",
            needs_labels=True,
        ),
        TaskSpec(
            "preference",
            "a question with a chosen and a rejected answer",
            draft_preference,
            reviewed=False,
            record_format="trl",
            llamafactory="ranking",
        ),
        TaskSpec(
            "reward",
            "question-answer pairs with the reviewer's score (0-5)",
            draft_qa,
            reviewed=True,
            record_format="reward",
            after_review=reward_records,
        ),
    )
}


def task_spec(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None
